module github.com/chatops-dev/chatops/scripts/mattermost-server

go 1.22

require (
	github.com/mattermost/mattermost/server/public v0.1.3 // indirect
	github.com/mattermost/mattermost/server/v8 v8.0.0-20240520151130-4bdd8bb18e47 // indirect
)
