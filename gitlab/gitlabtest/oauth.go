package gitlabtest

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The OAuth side of the fake: GitLab's Device Authorization Grant (RFC
// 8628; GitLab 17.1+), the refresh_token grant and revocation (RFC 7009),
// answering in GitLab's shapes, and OAuth access tokens accepted as
// "Authorization: Bearer" for the API as the user who approved them.

// deviceGrant is one pending device authorization.
type deviceGrant struct {
	userCode string
	clientID string
	// username is set by ApproveDevice; denied and expired by their
	// helpers.
	username        string
	denied, expired bool
	used            bool
}

// oauthToken is an issued access token.
type oauthToken struct {
	seq      int // order of issue
	username string
	refresh  string
	expires  time.Time
	revoked  bool
}

// oauthState is the fake's OAuth data, guarded by Server.mu.
type oauthState struct {
	devices  map[string]*deviceGrant // by device_code
	access   map[string]*oauthToken  // by access token
	refresh  map[string]string       // refresh token -> access token it came with
	slowDown int                     // polls still to answer slow_down
	lifetime time.Duration           // of access tokens (default 2h, as GitLab)
	refreshs int                     // refresh_token grants served
	issued   int                     // access tokens issued
	pending  int                     // authorization_pending answers
}

func (s *Server) oauthLocked() *oauthState {
	if s.oauth == nil {
		s.oauth = &oauthState{devices: map[string]*deviceGrant{}, access: map[string]*oauthToken{},
			refresh: map[string]string{}, lifetime: 2 * time.Hour}
	}
	return s.oauth
}

func (s *Server) oauthRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/authorize_device", s.authorizeDevice)
	mux.HandleFunc("POST /oauth/token", s.oauthToken)
	mux.HandleFunc("POST /oauth/revoke", s.oauthRevoke)
	return mux
}

// oauthError answers as RFC 6749 section 5.2 (and RFC 8628 3.5).
func oauthError(w http.ResponseWriter, code, description string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": description})
}

func (s *Server) authorizeDevice(w http.ResponseWriter, r *http.Request) {
	client := r.PostFormValue("client_id")
	if client == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed due to unknown client."})
		return
	}
	s.mu.Lock()
	o := s.oauthLocked()
	s.nextID++
	device := fmt.Sprintf("device-%d", s.nextID)
	user := fmt.Sprintf("FAKE%04d", s.nextID%10000)
	o.devices[device] = &deviceGrant{userCode: user, clientID: client}
	s.mu.Unlock()
	verify := s.srv.URL + "/oauth/device"
	writeJSON(w, http.StatusOK, map[string]any{"device_code": device, "user_code": user,
		"verification_uri": verify, "verification_uri_complete": verify + "?user_code=" + user,
		"expires_in": 300, "interval": 1})
}

func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.oauthLocked()
	switch r.PostFormValue("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code":
		d, ok := o.devices[r.PostFormValue("device_code")]
		switch {
		case !ok || d.used:
			oauthError(w, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
		case d.clientID != r.PostFormValue("client_id"):
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "Client authentication failed due to unknown client."})
		case d.denied:
			oauthError(w, "access_denied", "The resource owner or authorization server denied the request.")
		case d.expired:
			oauthError(w, "expired_token", "The device code has expired.")
		case o.slowDown > 0:
			o.slowDown--
			oauthError(w, "slow_down", "The client is polling too quickly.")
		case d.username == "":
			o.pending++
			oauthError(w, "authorization_pending", "The authorization request is still pending.")
		default:
			d.used = true
			s.issueLocked(w, d.username)
		}
	case "refresh_token":
		old, ok := o.refresh[r.PostFormValue("refresh_token")]
		if !ok {
			oauthError(w, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
			return
		}
		// GitLab rotates refresh tokens: the old pair stops working.
		t := o.access[old]
		delete(o.refresh, t.refresh)
		t.revoked = true
		o.refreshs++
		s.issueLocked(w, t.username)
	default:
		oauthError(w, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
}

// issueLocked makes a new token pair for username and answers with it.
func (s *Server) issueLocked(w http.ResponseWriter, username string) {
	o := s.oauthLocked()
	s.nextID++
	access := fmt.Sprintf("oauth-access-%s-%d", username, s.nextID)
	refresh := fmt.Sprintf("oauth-refresh-%s-%d", username, s.nextID)
	o.issued++
	o.access[access] = &oauthToken{seq: o.issued, username: username, refresh: refresh, expires: time.Now().Add(o.lifetime)}
	o.refresh[refresh] = access
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer",
		"expires_in": int(o.lifetime / time.Second), "refresh_token": refresh, "scope": "api", "created_at": time.Now().Unix()})
}

// oauthRevoke revokes an access or refresh token (and its pair); GitLab
// answers 200 with {} whether the token was known or not (RFC 7009).
func (s *Server) oauthRevoke(w http.ResponseWriter, r *http.Request) {
	tok := r.PostFormValue("token")
	s.mu.Lock()
	o := s.oauthLocked()
	if a, ok := o.refresh[tok]; ok {
		tok = a
	}
	if t, ok := o.access[tok]; ok {
		t.revoked = true
		delete(o.refresh, t.refresh)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// oauthUserLocked returns the user a live OAuth access token acts as.
func (s *Server) oauthUserLocked(tok string) (*user, bool) {
	if s.oauth == nil {
		return nil, false
	}
	t, ok := s.oauth.access[tok]
	if !ok || t.revoked || time.Now().After(t.expires) {
		return nil, false
	}
	u, ok := s.users[t.username]
	return u, ok
}

// credential is the token a request carries: Private-Token, or an OAuth
// bearer token.
func credential(r *http.Request) string {
	if t := r.Header.Get("Private-Token"); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	return ""
}

// LastUserCode is the user code of the newest device authorization.
func (s *Server) LastUserCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best, code string
	for dc, d := range s.oauthLocked().devices {
		if len(dc) > len(best) || (len(dc) == len(best) && dc > best) {
			best, code = dc, d.userCode
		}
	}
	return code
}

// device finds the grant with userCode and applies f to it under the lock.
func (s *Server) device(userCode string, f func(*deviceGrant)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.oauthLocked().devices {
		if d.userCode == userCode {
			f(d)
			return nil
		}
	}
	return fmt.Errorf("gitlabtest: no device authorization with user code %q", userCode)
}

// ApproveDevice approves the device authorization userCode as username,
// as that user clicking Authorize in GitLab.
func (s *Server) ApproveDevice(userCode, username string) error {
	return s.device(userCode, func(d *deviceGrant) { d.username = username })
}

// DenyDevice denies it: the next poll answers access_denied.
func (s *Server) DenyDevice(userCode string) error {
	return s.device(userCode, func(d *deviceGrant) { d.denied = true })
}

// ExpireDevice expires it: the next poll answers expired_token.
func (s *Server) ExpireDevice(userCode string) error {
	return s.device(userCode, func(d *deviceGrant) { d.expired = true })
}

// SlowDown makes the next n device polls answer slow_down.
func (s *Server) SlowDown(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthLocked().slowDown = n
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on
// (default 2h, as GitLab).
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthLocked().lifetime = d
}

// OAuthToken describes an issued access token for assertions.
type OAuthToken struct {
	Token, Refresh, Username string
	Revoked                  bool
}

// OAuthTokens returns every access token issued, in the order issued
// (a refresh issues a new one).
func (s *Server) OAuthTokens() []OAuthToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	access := s.oauthLocked().access
	toks := slices.SortedFunc(maps.Keys(access), func(a, b string) int { return access[a].seq - access[b].seq })
	out := make([]OAuthToken, 0, len(toks))
	for _, tok := range toks {
		t := access[tok]
		out = append(out, OAuthToken{Token: tok, Refresh: t.refresh, Username: t.username, Revoked: t.revoked})
	}
	return out
}

// Refreshes counts the refresh_token grants served.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauthLocked().refreshs
}

// PendingAnswers counts the authorization_pending answers given.
func (s *Server) PendingAnswers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oauthLocked().pending
}

// IssueToken issues an OAuth token pair for username as if they had
// completed a device flow, for tests that need a linked user's token.
func (s *Server) IssueToken(username string) (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.oauthLocked()
	s.nextID++
	access = fmt.Sprintf("oauth-access-%s-%d", username, s.nextID)
	refresh = fmt.Sprintf("oauth-refresh-%s-%d", username, s.nextID)
	o.issued++
	o.access[access] = &oauthToken{seq: o.issued, username: username, refresh: refresh, expires: time.Now().Add(o.lifetime)}
	o.refresh[refresh] = access
	return access, refresh
}
