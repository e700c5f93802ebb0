package mattermost

import (
	"context"
	"fmt"
	"net/http"
)

// Check implements bot.Checker with one GET /api/v4/users/me.
func (a *Adapter) Check(ctx context.Context) (string, error) {
	me, resp, err := a.client.GetMe(ctx, "")
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return "", fmt.Errorf("mattermost: %s rejected [mattermost] token (401): use the bot account's access token", a.cfg.URL)
		}
		return "", fmt.Errorf("mattermost: GET /api/v4/users/me at %s: %w", a.cfg.URL, err)
	}
	return fmt.Sprintf("as @%s (%s)", me.Username, me.Id), nil
}
