package discordtest

// Click is a button click for ClickButton: who clicked the button with
// CustomID on the bot's message MessageID.
type Click struct {
	ChannelID, GuildID, UserID string
	MessageID, CustomID        string
}

// ClickButton dispatches the INTERACTION_CREATE Discord sends when a user
// clicks a button on a message (type 3 MESSAGE_COMPONENT, data.custom_id
// and data.component_type 2, the message clicked, member in a guild or
// user in a DM) and returns the interaction id. As for commands, its
// token accepts one callback within 3 seconds and webhook calls (edits of
// @original, the clicked message; follow-ups) for 15 minutes.
func (s *Server) ClickButton(c Click) string {
	id := s.id()
	token := "itoken-" + id
	d := map[string]any{"id": id, "application_id": s.AppID, "type": 3, "token": token, "version": 1, "channel_id": c.ChannelID,
		"app_permissions": "274877975552",
		"data":            map[string]any{"custom_id": c.CustomID, "component_type": 2},
		"message":         s.messageJSON(c.MessageID, c.ChannelID, ""),
	}
	s.sendInteraction(d, id, token, c.ChannelID, c.GuildID, c.UserID)
	return id
}
