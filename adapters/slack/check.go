package slack

import (
	"context"
	"fmt"
)

// Check implements bot.Checker with one auth.test call on the bot token.
func (a *Adapter) Check(ctx context.Context) (string, error) {
	res, err := a.api.AuthTestContext(ctx)
	if err != nil {
		return "", fmt.Errorf("slack: auth.test with [slack] bot_token: %w", err)
	}
	return fmt.Sprintf("as @%s (%s) in %s", res.User, res.UserID, res.Team), nil
}
