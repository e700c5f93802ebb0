//go:build tools

// This file pins modules that packages under construction import, so that
// `go mod tidy` keeps them while those packages are being written.
package main

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/bwmarrin/discordgo"
	_ "github.com/google/shlex"
	_ "github.com/gorilla/websocket"
	_ "github.com/mattermost/mattermost/server/public/model"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/socketmode"
	_ "gitlab.com/gitlab-org/api/client-go"
	_ "gopkg.in/yaml.v3"
)
