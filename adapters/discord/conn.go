package discord

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/chatops-dev/chatops/bot"
)

// Run implements bot.Adapter: it opens the gateway, delivers messages and
// interactions, and reopens after failures with jittered exponential
// backoff. discordgo resumes dropped connections by itself; the watchdog
// catches a session that stays open but stops acknowledging heartbeats.
func (a *Adapter) Run(ctx context.Context, deliver func(bot.Message)) error {
	a.setState(bot.StateConnecting)
	wait := a.cfg.BackoffMin
	for {
		s, err := a.newSession()
		if err != nil {
			return fmt.Errorf("discord: %w", err)
		}
		a.addHandlers(s, deliver)
		if err := s.Open(); err != nil {
			if strings.Contains(err.Error(), "4004") {
				return errors.New("discord rejected the token (4004 Authentication failed): check [discord] token")
			}
			_ = s.Close()
			sleep := wait/2 + rand.N(wait/2+1)
			a.log.Warn("discord gateway connection failed, retrying", "err", err, "in", sleep.Round(time.Millisecond))
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(sleep):
			}
			wait = min(wait*2, a.cfg.BackoffMax)
			continue
		}
		a.mu.Lock()
		a.sess = s
		a.mu.Unlock()
		wait = a.cfg.BackoffMin
		reason := a.watch(ctx, s)
		_ = s.Close()
		if ctx.Err() != nil {
			return nil
		}
		a.setState(bot.StateDegraded)
		a.log.Warn("discord session torn down, reopening", "reason", reason)
	}
}

// watch returns when ctx ends or the session stops acknowledging
// heartbeats for longer than the watchdog bound.
func (a *Adapter) watch(ctx context.Context, s *discordgo.Session) string {
	t := time.NewTicker(max(a.cfg.Watchdog/4, 20*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "shutdown"
		case <-t.C:
			s.RLock()
			last := s.LastHeartbeatAck
			s.RUnlock()
			if !last.IsZero() && time.Since(last) > a.cfg.Watchdog {
				return fmt.Sprintf("no heartbeat acknowledged for %s", time.Since(last).Round(time.Millisecond))
			}
		}
	}
}

// commandName is the application command users type: /chatops <command>.
const commandName = "chatops"

func (a *Adapter) addHandlers(s *discordgo.Session, deliver func(bot.Message)) {
	s.AddHandler(func(s *discordgo.Session, r *discordgo.Ready) {
		a.mu.Lock()
		a.botID = r.User.ID
		a.appID = r.User.ID
		if r.Application != nil && r.Application.ID != "" {
			a.appID = r.Application.ID
		}
		appID := a.appID
		a.mu.Unlock()
		a.setState(bot.StateConnected)
		a.log.Info("discord connected", "bot", r.User.Username)
		_, err := s.ApplicationCommandBulkOverwrite(appID, "", []*discordgo.ApplicationCommand{{
			Name: commandName, Description: "Run a chatops command, e.g. run deploy production",
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "command", Description: "The command and its arguments", Required: true,
			}},
		}})
		if err != nil {
			a.log.Warn("could not register the /chatops command", "err", err)
		}
	})
	s.AddHandler(func(*discordgo.Session, *discordgo.Resumed) { a.setState(bot.StateConnected) })
	s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) { a.setState(bot.StateDegraded) })
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
		a.mu.Lock()
		botID := a.botID
		a.mu.Unlock()
		if msg, ok := ParseMessage(m.Message, botID); ok {
			deliver(msg)
		}
	})
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.Type != discordgo.InteractionApplicationCommand || i.ApplicationCommandData().Name != commandName {
			return
		}
		// Acknowledge within Discord's 3 seconds; the reply comes later by
		// editing this deferred answer.
		if err := s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource}); err != nil {
			a.log.Warn("could not acknowledge /chatops", "err", err)
			return
		}
		deliver(fromInteraction(i.Interaction))
	})
}
