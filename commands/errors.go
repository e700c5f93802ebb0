package commands

import "github.com/chatops-dev/chatops/bot"

// Errorf returns a *bot.Refusal with the given title and formatted advice:
// the error a handler returns to refuse with a clear answer.
func Errorf(title, format string, a ...any) *bot.Refusal {
	return bot.Refuse(title, format, a...)
}
