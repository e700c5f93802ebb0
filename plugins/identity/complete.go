package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/oauth2"

	"github.com/chatops-dev/chatops/bot"
	"github.com/chatops-dev/chatops/bot/retry"
	"github.com/chatops-dev/chatops/store"
)

// Finishing one pending link: poll GitLab, record the link when granted,
// store the answer, tell the user, delete the stored pending link, as a
// run is answered (plugins/run: stored first, then delivered, then done).
// Whoever stores the answer (AnswerPendingLink reports true) tells the
// user, so the answer goes out once even when two processes finish one
// flow (the old owner paused past its lease while the new one polls) or a
// process died after recording the link but before storing the answer
// (the next owner finds the device code used and the link recorded).
//
// The answer is stored before it is delivered so that a process that dies
// (or is killed) in between loses nothing: storing it leased the link to
// the answerer, and once that lease lapses another process acquires the
// answered link and delivers the stored answer (leaseRound), even if the
// link expired meanwhile. The order leaves one window: a process that dies
// after delivering and before deleting the link makes the next one
// deliver it again, so the user is told twice. That is the order that
// loses nothing; deleting first, as before, lost the answer in that
// window.

const (
	// finishTimeout bounds recording a granted link and saying so once
	// the token is in hand, even while the bot stops: a token GitLab
	// issued should not be left unrecorded.
	finishTimeout = 30 * time.Second
	// usedWait is how long a poller that finds the device code used
	// waits for the link to be recorded by whoever used it: longer than
	// finishTimeout, so a live recorder always finishes first.
	usedWait = finishTimeout + 15*time.Second
	// deliverFor is how long telling the user the outcome is retried.
	deliverFor = 2 * time.Minute
	// clockSlack allows for replicas' clocks disagreeing when a link
	// recorded by one is compared with a flow created by another.
	clockSlack = time.Minute
)

// complete waits for the user's decision in GitLab, bounded by the device
// code's lifetime, records the link when granted, stores the answer, tells
// the user and deletes the stored pending link. It reports whether the
// link is settled (answered and told by this call, or gone); false means
// it stays stored for its next poll or the delivery of its stored answer
// (the bot is stopping, the lease was lost, another process answered, or
// the store failed).
func (p *Plugin) complete(ctx context.Context, out bot.Messenger, l *store.PendingLink) bool {
	log := p.opts.Logger.With("identity", l.Identity, "link", l.ID)
	code, err := p.openDeviceCode(l.Identity, l.DeviceCode)
	if err != nil {
		log.Error("pending link cannot be resumed", "err", err)
		return p.finish(ctx, out, l, log, (&bot.Refusal{Title: "GitLab did not complete the link",
			Text: "The bot could not read back your link request. Send `link` again."}).Reply())
	}
	da := &oauth2.DeviceAuthResponse{DeviceCode: code, Interval: int64(l.Interval / time.Second), Expiry: l.ExpiresAt}
	if da.Interval < 1 && l.Interval > 0 {
		da.Interval = 1
	}
	tok, err := p.oauth.DeviceAccessToken(p.oauthContext(ctx), da)
	switch {
	case err != nil && ctx.Err() != nil:
		log.Info("pending link left in the store for its next owner: this process stops polling it")
		return false
	case isInvalidGrant(err):
		return p.codeUsed(ctx, out, l, log, err)
	case err != nil:
		reply := flowEnded(err)
		log.Info("link not completed", "outcome", reply.Title, "err", describe(err))
		return p.finish(ctx, out, l, log, reply)
	}
	// The token is GitLab's grant: record it and say so even when the bot
	// is stopping meanwhile, within a bound.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	return p.finish(fctx, out, l, log, p.record(fctx, l.Identity, log, tok))
}

// codeUsed handles GitLab refusing the device code as used (invalid_grant):
// whoever used it (this flow's previous owner, which died before deleting
// the stored link, or one still finishing) recorded the link or is about
// to. It waits, bounded, for the link to show; the user is told it is
// linked, or, if nothing shows, that GitLab did not complete it; unless
// the stored link is gone or answered meanwhile (its finisher answers).
func (p *Plugin) codeUsed(ctx context.Context, out bot.Messenger, l *store.PendingLink, log *slog.Logger, cause error) bool {
	deadline := time.Now().Add(usedWait)
	for {
		id, err := p.opts.Store.GetIdentity(ctx, l.Identity)
		if err == nil && !id.LinkedAt.Before(l.CreatedAt.Add(-clockSlack)) {
			log.Info("pending link was completed by an earlier owner", "gitlab_user", id.GitLabUsername)
			return p.finish(ctx, out, l, log, linked(id.GitLabUsername))
		}
		now, err := p.opts.Store.GetPendingLink(ctx, l.Identity)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && now.ID != l.ID):
			return true // finished elsewhere
		case err == nil && now.Answer != nil:
			// Answered elsewhere: its answerer tells the user, or, if it
			// died, whoever acquires the link next (this process, if it
			// still holds it).
			return false
		case time.Now().After(deadline):
			log.Warn("link not completed: GitLab says the device code was used, and no link was recorded", "err", describe(cause))
			return p.finish(ctx, out, l, log, flowEnded(cause))
		}
		if !retry.Sleep(ctx, time.Second) {
			return false
		}
	}
}

// finish stores r as the link's answer and, if this call stored it (no
// other process answered first), tells the user r and deletes the link.
// It reports whether the link is settled by this call; false means it
// stays stored (answered elsewhere, or the store failed): if this process
// still holds it on its next lease round, that round polls it again or,
// answered, delivers the stored answer.
func (p *Plugin) finish(ctx context.Context, out bot.Messenger, l *store.PendingLink, log *slog.Logger, r bot.Reply) bool {
	answer, err := json.Marshal(r)
	if err != nil {
		// A Reply is plain data; this does not happen.
		log.Error("could not encode how a pending link ended", "outcome", r.Title, "err", err)
		return false
	}
	won, err := p.opts.Store.AnswerPendingLink(ctx, l.ID, answer, p.opts.Owner, p.opts.Lease)
	if err != nil {
		// Not stored (or not known to be): the link is polled again, and
		// its next poll, finding the device code used, answers; or, if the
		// answer was stored after all, this process (its owner) delivers
		// it on its next lease round.
		log.Error("could not store how a pending link ended; it will be polled again", "outcome", r.Title, "err", err)
		return false
	}
	if !won {
		log.Info("pending link answered by another process, which tells the user", "outcome", r.Title)
		return false
	}
	return p.tell(ctx, out, l, log, r)
}

// tell delivers the stored answer r of the link l, then deletes l. The
// answer is stored, so a crash before deleting makes the next process
// deliver it again (see above); a failing delete is retried by this
// process's next lease round, which finds the link finished.
func (p *Plugin) tell(ctx context.Context, out bot.Messenger, l *store.PendingLink, log *slog.Logger, r bot.Reply) bool {
	p.deliver(ctx, out, l, log, r)
	p.forget(ctx, l, log)
	return true
}

// forget deletes the link l, whose answer was delivered. Neither ctx's end
// (the service stops) cuts it: a link left stored is delivered again by
// the next process.
func (p *Plugin) forget(ctx context.Context, l *store.PendingLink, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := p.opts.Store.DeletePendingLink(ctx, l.ID); err != nil {
		log.Error("could not delete a pending link whose answer was delivered; this process retries, and another delivers it again if this one stops first", "err", err)
	}
}

// storedAnswer decodes the answer stored for l by AnswerPendingLink.
func storedAnswer(l *store.PendingLink) (bot.Reply, error) {
	var r bot.Reply
	if err := json.Unmarshal(l.Answer, &r); err != nil {
		return bot.Reply{}, fmt.Errorf("identity: reading the stored answer of pending link %s: %w", l.ID, err)
	}
	return r, nil
}

// lostAnswer is told when a stored answer cannot be read back: the user
// is owed word that the flow ended.
var lostAnswer = bot.Reply{Status: bot.StatusError, Title: "link ended",
	Text: "Your link request ended, but the bot could not read back how. Send `whoami` to see whether you are linked, and `link` to try again."}

// record reads whose token tok is and saves the link, returning what to
// tell the user.
func (p *Plugin) record(ctx context.Context, identity string, log *slog.Logger, tok *oauth2.Token) bot.Reply {
	u, err := p.currentUser(p.oauthContext(ctx), tok)
	if err != nil {
		log.Warn("link not recorded: GitLab did not say whose the token is", "err", err)
		return (&bot.Refusal{Title: "GitLab did not say who you are", Text: "The link was not recorded: " + err.Error() + ". Try `link` again."}).Reply()
	}
	// Under the refresh lock, so the pair replaced is not one a refresh
	// here is rotating; a refresh on another replica finds the link
	// replaced when it saves and revokes its own pair (saveRefreshed).
	mu := p.refreshLock(identity)
	mu.Lock()
	old, oerr := p.opts.Store.GetIdentity(ctx, identity)
	err = p.save(ctx, identity, u.ID, u.Username, tok, time.Now())
	mu.Unlock()
	if err != nil {
		log.Error("link not recorded", "gitlab_user", u.Username, "err", err)
		return bot.Reply{Status: bot.StatusError, Title: "link failed",
			Text: "GitLab approved, but the bot could not record the link. Try `link` again, and tell the bot's operators if it keeps happening."}
	}
	if oerr == nil {
		// A relink replaced the previous pair: revoke it, best-effort, or
		// it stays live in GitLab, known to nobody, and `unlink` would
		// revoke only the new one.
		var tokens []string
		for _, sealed := range [][]byte{old.RefreshToken, old.AccessToken} {
			if t, err := p.open(identity, sealed); err == nil {
				tokens = append(tokens, t)
			}
		}
		p.revokeTokens(ctx, identity, tokens...)
	}
	log.Info("chat identity linked to GitLab", "gitlab_user", u.Username, "gitlab_user_id", u.ID)
	return linked(u.Username)
}

// linked is the answer to a link recorded for username.
func linked(username string) bot.Reply {
	return bot.Reply{Status: bot.StatusSuccess, Title: "Linked to GitLab user " + username,
		Text: "Pipelines you start from chat are now created as " + username + ", with your GitLab rights. `unlink` undoes it."}
}

// deliver posts r where the link was posted, retrying a platform's bad
// minute for a bounded time. This process stored the answer, or acquired
// it stored, and holds the link, so nobody else tells while it lives:
// neither ctx's end (a lease round that no longer finds the link cancels
// its poll, the service stops) cuts the answer; deliverFor bounds it.
// Given up, the link is deleted all the same, as a run's answer given up
// is done: a platform that refuses for minutes is not retried forever.
func (p *Plugin) deliver(ctx context.Context, out bot.Messenger, l *store.PendingLink, log *slog.Logger, r bot.Reply) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deliverFor)
	defer cancel()
	to := bot.Conversation{ChannelID: l.ChannelID, ThreadID: l.ThreadID, Direct: l.Direct, Handle: l.Handle}
	deadline := time.Now().Add(deliverFor)
	backoff := retry.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second}
	for attempt := 0; ; attempt++ {
		_, err := out.Send(ctx, l.Platform, to, r)
		if err == nil {
			return
		}
		wait := backoff.Wait(attempt)
		if bot.IsPermanent(err) || time.Now().Add(wait).After(deadline) || !retry.Sleep(ctx, wait) {
			log.Warn("could not tell the user how their link ended", "outcome", r.Title, "attempts", attempt+1, "err", err)
			return
		}
	}
}

// isInvalidGrant reports GitLab refusing the device code itself: used
// already (or revoked).
func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// flowEnded says how a device flow ended without a token.
func flowEnded(err error) bot.Reply {
	var re *oauth2.RetrieveError
	code := ""
	if errors.As(err, &re) {
		code = re.ErrorCode
	}
	var r bot.Refusal
	switch {
	case code == "access_denied":
		r = bot.Refusal{Title: "Link declined", Text: "You declined in GitLab; nothing was linked."}
	case code == "expired_token" || errors.Is(err, context.DeadlineExceeded):
		r = bot.Refusal{Title: "The link expired", Text: "It was not approved in time. Send `link` again for a new one."}
	default:
		r = bot.Refusal{Title: "GitLab did not complete the link", Text: fmt.Sprintf("%s. Try `link` again.", describe(err))}
	}
	return r.Reply()
}
