-- A pending link's answer (store.Store.AnswerPendingLink): the outcome the
-- bot owes its user, encoded by the bot, stored before it is delivered and
-- NULL while the link is pending. Setting it is the claim that makes one
-- replica tell the user; the row is deleted once the answer is delivered,
-- and a restarted process (or another replica) delivers an answer left
-- stored. Rows written before have none: they are pending, as they were.
ALTER TABLE pending_links ADD COLUMN answer bytea;
