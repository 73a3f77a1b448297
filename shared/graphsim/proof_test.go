package graphsim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"testing"

	"github.com/waes/onboarding/shared/graphsim"
)

func hmacHex(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

func TestAppSecretProofRule(t *testing.T) {
	e := newEnv(t)
	appToken := appID + "|" + appSecret
	now := e.clock.Now().Unix()
	path := func(q url.Values) string {
		q.Set("input_token", systemToken)
		return "/v25.0/debug_token?" + q.Encode()
	}
	cases := []struct {
		name     string
		require  bool
		query    url.Values
		wantCode int
	}{
		{"no proof, not required", false, url.Values{}, 0},
		{"no proof, required", true, url.Values{}, 100},
		{"classic proof", true, url.Values{"appsecret_proof": {hmacHex(appSecret, appToken)}}, 0},
		{"wrong secret", false, url.Values{"appsecret_proof": {hmacHex("other", appToken)}}, 100},
		{"proof of another token", false, url.Values{"appsecret_proof": {hmacHex(appSecret, systemToken)}}, 100},
		{"time-stamped proof", true, url.Values{
			"appsecret_proof": {hmacHex(appSecret, appToken+"|"+strconv.FormatInt(now, 10))},
			"appsecret_time":  {strconv.FormatInt(now, 10)}}, 0},
		{"time-stamped proof older than 5 minutes", true, url.Values{
			"appsecret_proof": {hmacHex(appSecret, appToken+"|"+strconv.FormatInt(now-301, 10))},
			"appsecret_time":  {strconv.FormatInt(now-301, 10)}}, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(cfg *graphsim.Config) { cfg.RequireAppSecretProof = c.require })
			status, body, _ := raw(t, e, "GET", path(c.query), appToken, "", "")
			if c.wantCode == 0 {
				if status != 200 {
					t.Fatalf("status %d, body %v; want 200", status, body)
				}
				return
			}
			me := metaErr(t, body)
			if got := code(me); got != c.wantCode {
				t.Errorf("code: got %d, want %d", got, c.wantCode)
			}
			if got, want := me["type"], "GraphMethodException"; got != want {
				t.Errorf("type: got %v, want %s", got, want)
			}
		})
	}
}
