package graphsim

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

const (
	usersWABA  = "102290129340398"
	usersPhone = "106540352242922"
	usersBSUID = "US.13491208655302741918"
)

// registeredSim returns a simulator whose usersPhone is registered, reporting to obs.
func registeredSim(obs Observer) *Server {
	s := New(Config{Observer: obs})
	s.SetPhone(usersPhone, PhoneState{WABAID: usersWABA, PlatformType: PlatformCloudAPI, Status: StatusConnected})
	return s
}

// TestInboundUserMessageShape: a BSUID-only user's webhook is signed, carries the BSUID and the username,
// and no phone number anywhere; the intake reads the sender from it.
func TestInboundUserMessageShape(t *testing.T) {
	secret := onboarding.NewSecret("614fc2afde15eee07a26b2fe3eaee9b9")
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(body, r.Header.Get("X-Hub-Signature-256"), secret); err != nil {
			t.Errorf("signature: %v", err)
		}
		bodies <- body
	}))
	defer srv.Close()
	ws := &WebhookSender{URL: srv.URL, AppSecret: secret}
	defer ws.Close()
	s := registeredSim(ws)
	res, err := s.SendUserMessage(UserMessage{PhoneNumberID: usersPhone, Text: "hello", FromUserID: usersBSUID, Username: "jane_doe"})
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	select {
	case body = <-bodies:
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivered")
	}
	raw := string(body)
	for _, absent := range []string{`"wa_id"`, `"from":`} {
		if strings.Contains(raw, absent) {
			t.Errorf("the BSUID-only webhook carries %s: %s", absent, raw)
		}
	}
	for _, present := range []string{`"user_id":"` + usersBSUID + `"`, `"from_user_id":"` + usersBSUID + `"`, `"username":"jane_doe"`} {
		if !strings.Contains(raw, present) {
			t.Errorf("the webhook lacks %s: %s", present, raw)
		}
	}
	parsed, err := webhook.Parse(body)
	if err != nil || len(parsed.Events) != 1 {
		t.Fatalf("parse: %v, %d events", err, len(parsed.Events))
	}
	ev := parsed.Events[0]
	if ev.Kind != webhook.KindInboundMessage || ev.FromUserID != usersBSUID || ev.From != "" || ev.MessageID != res.MessageID || ev.Text != "hello" || ev.WABAID != usersWABA {
		t.Errorf("parsed event: got %+v", ev)
	}
}

// TestSendUserMessageOpensWindow: after a user's message the business number may reply to that user (the
// window is open), and only to that user.
func TestSendUserMessageOpensWindow(t *testing.T) {
	var inbound []string
	s := registeredSim(ObserverFuncs{OnInboundMessage: func(_, _, from, _, _ string, _ time.Time) { inbound = append(inbound, from) }})
	if _, err := s.SendUserMessage(UserMessage{PhoneNumberID: usersPhone, Text: "hi", From: "+15550001111"}); err != nil {
		t.Fatal(err)
	}
	if len(inbound) != 1 || inbound[0] != "15550001111" {
		t.Errorf("observer told of inbound messages from %v, want [15550001111]", inbound)
	}
	s.mu.Lock()
	opened := s.phones[usersPhone].Windows
	s.mu.Unlock()
	if _, ok := opened["15550001111"]; !ok {
		t.Errorf("window with the sender not opened: %v", opened)
	}
	if _, ok := opened["15550002222"]; ok {
		t.Errorf("window opened with a user who did not write")
	}
}

func TestSendUserMessageRefusals(t *testing.T) {
	plain := ObserverFuncs{}
	for _, tc := range []struct {
		name  string
		s     *Server
		m     UserMessage
		field string
	}{
		{"unregistered number", New(Config{}), UserMessage{PhoneNumberID: usersPhone, Text: "hi", From: "+15550001111"}, "phone_number_id"},
		{"bad BSUID", registeredSim(plain), UserMessage{PhoneNumberID: usersPhone, Text: "hi", FromUserID: "13491208655302741918"}, "from_user_id"},
		{"too long", registeredSim(plain), UserMessage{PhoneNumberID: usersPhone, Text: strings.Repeat("x", MaxTextBody+1), From: "+15550001111"}, "text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.s.SendUserMessage(tc.m)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("got %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	t.Run("BSUID user, observer without UserObserver", func(t *testing.T) {
		_, err := registeredSim(plain).SendUserMessage(UserMessage{PhoneNumberID: usersPhone, Text: "hi", FromUserID: usersBSUID})
		var fe *FieldError
		if err == nil || errors.As(err, &fe) {
			t.Fatalf("got %v, want an error that is not the caller's fault", err)
		}
	})
}
