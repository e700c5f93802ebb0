package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bwmarrin/discordgo"
)

// Check implements bot.Checker with one GET /users/@me.
func (a *Adapter) Check(ctx context.Context) (string, error) {
	s, err := a.newSession()
	if err != nil {
		return "", fmt.Errorf("discord: %w", err)
	}
	u, err := s.User("@me", discordgo.WithContext(ctx))
	if err != nil {
		var re *discordgo.RESTError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized {
			return "", errors.New("discord: Discord rejected [discord] token (401 on GET /users/@me): use the bot token from the developer portal")
		}
		return "", fmt.Errorf("discord: GET /users/@me: %w", err)
	}
	return fmt.Sprintf("as @%s (%s)", u.Username, u.ID), nil
}
