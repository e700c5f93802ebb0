package store

import "time"

// Identity is a chat user linked to a GitLab user by the OAuth device
// flow: the bot acts as that user with AccessToken, renewed with
// RefreshToken. The tokens are ciphertext sealed by the caller (see
// store/seal); the store keeps them as opaque bytes, so a copy of the
// database alone does not hand out GitLab credentials.
type Identity struct {
	// Chat is the chat identity "platform:userID".
	Chat string
	// GitLabUserID and GitLabUsername name the linked GitLab user.
	GitLabUserID   int64
	GitLabUsername string
	// AccessToken and RefreshToken are sealed tokens.
	AccessToken  []byte
	RefreshToken []byte
	// ExpiresAt is when AccessToken expires (zero: unknown).
	ExpiresAt time.Time
	// LinkedAt is when the link was made.
	LinkedAt time.Time
}
