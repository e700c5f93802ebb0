package mattermost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// A slash command request names its channel, its team and (through the
// channel's name) whether it is a DM, and Mattermost signs none of it:
// only the token is checked. So the channel is looked up as the bot sees
// it: its team (to hold a request to the token's and the request's team)
// and its type (a DM with the bot is served in any team; a channel_name
// of the form "<bot id>__<x>" proves nothing).

// maxChannelCache bounds the channels remembered; past it the cache starts
// over. Channels never move between teams nor change between DM and not,
// so what is remembered stays true.
const maxChannelCache = 4096

// channelLookupTimeout bounds the lookup: Mattermost waits for the
// request's answer (30 s by default) and shows its user nothing until then.
const channelLookupTimeout = 5 * time.Second

// slashChannel is what the bot knows of a slash command's channel.
type slashChannel struct {
	// visible is false when the bot may not read the channel (a private
	// channel or a conversation it is not in, a channel of a team it is
	// not in): it cannot tell the team, and it is not the bot's DM.
	visible bool
	team    string            // "" for DMs and group messages
	typ     model.ChannelType // model.ChannelTypeDirect for a DM
	name    string            // a DM's "<id>__<id>"
}

// channelCache remembers slashChannel by channel id.
type channelCache struct {
	mu sync.Mutex
	by map[string]slashChannel
}

func (c *channelCache) get(id string) (slashChannel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.by[id]
	return ch, ok
}

func (c *channelCache) put(id string, ch slashChannel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil || len(c.by) >= maxChannelCache {
		c.by = map[string]slashChannel{}
	}
	c.by[id] = ch
}

// lookupChannel returns the channel id as the bot sees it. A channel the
// server refuses to show it (403, 404) comes back not visible, and is not
// remembered: the bot may be added to it later. Other failures are
// errors.
func (a *Adapter) lookupChannel(ctx context.Context, id string) (slashChannel, error) {
	if ch, ok := a.slashChans.get(id); ok {
		return ch, nil
	}
	ctx, cancel := context.WithTimeout(ctx, channelLookupTimeout)
	defer cancel()
	c, resp, err := a.client.GetChannel(ctx, id)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound) {
			return slashChannel{}, nil
		}
		return slashChannel{}, fmt.Errorf("mattermost: look up a slash command's channel: %w", err)
	}
	if c == nil {
		return slashChannel{}, errors.New("mattermost: look up a slash command's channel: empty answer")
	}
	ch := slashChannel{visible: true, team: c.TeamId, typ: c.Type, name: c.Name}
	a.slashChans.put(id, ch)
	return ch, nil
}

// directWith reports whether ch is the DM between the bot (botID) and
// someone: its type says so, and its name holds the bot's id (a bot that
// may read others' DMs, a system admin, sees those too).
func (ch slashChannel) directWith(botID string) bool {
	return ch.visible && ch.typ == model.ChannelTypeDirect && isDirectWith(ch.name, botID)
}
