package gitlabtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// postForm posts form to the fake and decodes the JSON answer.
func postForm(t *testing.T, s *Server, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(s.URL()+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestOAuthShapes pins the fake's device flow to RFC 8628's and GitLab's
// field names and error codes.
func TestOAuthShapes(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddUser("alice", Developer)
	code, da := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {"app"}, "scope": {"api"}})
	if code != 200 {
		t.Fatalf("authorize_device: %d %v", code, da)
	}
	for _, k := range []string{"device_code", "user_code", "verification_uri", "verification_uri_complete", "expires_in", "interval"} {
		if _, ok := da[k]; !ok {
			t.Errorf("authorize_device lacks %s: %v", k, da)
		}
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da["device_code"].(string)}, "client_id": {"app"}}
	if code, e := postForm(t, s, "/oauth/token", poll); code != 400 || e["error"] != "authorization_pending" {
		t.Errorf("pending poll = %d %v", code, e)
	}
	s.SlowDown(1)
	if _, e := postForm(t, s, "/oauth/token", poll); e["error"] != "slow_down" {
		t.Errorf("slow poll = %v", e)
	}
	if err := s.ApproveDevice(da["user_code"].(string), "alice"); err != nil {
		t.Fatal(err)
	}
	code, tok := postForm(t, s, "/oauth/token", poll)
	if code != 200 || tok["token_type"] != "Bearer" || tok["refresh_token"] == nil || tok["expires_in"] == nil {
		t.Fatalf("token = %d %v", code, tok)
	}
	req, _ := http.NewRequest("GET", s.URL()+"/api/v4/user", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var u map[string]any
	json.NewDecoder(resp.Body).Decode(&u)
	resp.Body.Close()
	if u["username"] != "alice" {
		t.Errorf("GET /user with the token = %v", u)
	}
	// The device code is spent.
	if _, e := postForm(t, s, "/oauth/token", poll); e["error"] != "invalid_grant" {
		t.Errorf("second exchange = %v", e)
	}
	// Refresh rotates the pair.
	_, fresh := postForm(t, s, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"app"}})
	if fresh["access_token"] == nil || fresh["access_token"] == tok["access_token"] {
		t.Fatalf("refresh = %v", fresh)
	}
	if _, e := postForm(t, s, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}, "client_id": {"app"}}); e["error"] != "invalid_grant" {
		t.Errorf("reused refresh token = %v", e)
	}
	if code, _ := postForm(t, s, "/oauth/revoke", url.Values{"token": {fresh["access_token"].(string)}, "client_id": {"app"}}); code != 200 {
		t.Errorf("revoke = %d", code)
	}
	for _, o := range s.OAuthTokens() {
		if !o.Revoked {
			t.Errorf("token of %s not revoked", o.Username)
		}
	}
	// Denied and expired.
	for _, tt := range []struct {
		f    func(string) error
		want string
	}{{s.DenyDevice, "access_denied"}, {s.ExpireDevice, "expired_token"}} {
		_, da := postForm(t, s, "/oauth/authorize_device", url.Values{"client_id": {"app"}, "scope": {"api"}})
		tt.f(da["user_code"].(string))
		poll.Set("device_code", da["device_code"].(string))
		if _, e := postForm(t, s, "/oauth/token", poll); e["error"] != tt.want || !strings.Contains(e["error_description"].(string), "") {
			t.Errorf("poll = %v, want %s", e, tt.want)
		}
	}
}
