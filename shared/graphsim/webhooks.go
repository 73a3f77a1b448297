package graphsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waes/onboarding/shared/logging"
	"github.com/waes/onboarding/shared/onboarding"
	"github.com/waes/onboarding/shared/webhook"
)

// WebhookSender is an Observer that sends the webhooks Meta would send to the app's callback URL, signed with
// the app secret (X-Hub-Signature-256): the tester's inbound message after a registration, and the sent and
// delivered statuses of every message a business number sends. Like Meta, it delivers asynchronously and
// retries any answer other than 200 with backoff.
type WebhookSender struct {
	// URL is the callback (the local runner's /webhooks).
	URL       string
	AppSecret onboarding.Secret
	Logger    *slog.Logger
	// StatusDelay separates a message's sent and delivered statuses (default 100 ms).
	StatusDelay time.Duration
	// MaxAttempts bounds the deliveries of one webhook (default 8); Meta keeps trying for 7 days.
	MaxAttempts int
	// RetryDelay is the first delay between deliveries (default 200 ms, doubling).
	RetryDelay time.Duration

	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	stop   chan struct{}
	once   sync.Once
}

func (w *WebhookSender) init() {
	w.once.Do(func() { w.stop = make(chan struct{}) })
}

// PhoneRegistered sends nothing: Meta has no webhook for a registration (the tester's message follows).
func (w *WebhookSender) PhoneRegistered(string, string, string) {}

// InboundMessage sends a messages webhook with the user's text message.
func (w *WebhookSender) InboundMessage(wabaID, phoneNumberID, from, messageID, text string, at time.Time) {
	waID := strings.TrimPrefix(from, "+")
	w.InboundUserMessage(wabaID, phoneNumberID, User{WAID: waID, UserID: UserID(waID), Name: "Simulated Tester"}, messageID, text, at)
}

// MessageSent sends the sent, then the delivered status of the message. As at Meta, statuses carry the
// user's BSUID (recipient_user_id) whether the message went to the phone number or to the BSUID, and the
// phone (recipient_id) only when the message went to the phone number.
func (w *WebhookSender) MessageSent(wabaID, phoneNumberID, to, messageID string, at time.Time) {
	delay := w.StatusDelay
	if delay <= 0 {
		delay = 100 * time.Millisecond
	}
	userID, waID := to, ""
	if !onboarding.ValidBSUID(to) {
		waID = strings.TrimPrefix(to, "+")
		userID = UserID(waID)
	}
	for i, status := range []string{"sent", "delivered"} {
		st := map[string]any{
			"id": messageID, "status": status, "timestamp": strconv.FormatInt(at.Add(time.Duration(i)*time.Second).Unix(), 10),
			"recipient_user_id": userID,
			"conversation":      map[string]any{"id": "sim-conversation-" + phoneNumberID, "origin": map[string]string{"type": "service"}},
			"pricing":           map[string]any{"billable": true, "pricing_model": "PMP", "category": "service"},
		}
		c := map[string]any{"user_id": userID}
		if waID != "" {
			st["recipient_id"] = waID
			c["wa_id"] = waID
		}
		value := map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          metadata(phoneNumberID),
			"contacts":          []any{c},
			"statuses":          []any{st},
		}
		w.deliverLater(time.Duration(i+1)*delay, wabaID, "messages", value)
	}
}

func metadata(phoneNumberID string) map[string]string {
	return map[string]string{"display_phone_number": webhookDisplayNumber(phoneNumberID), "phone_number_id": phoneNumberID}
}

// webhookDisplayNumber is the phone's display number as webhooks carry it: digits only.
func webhookDisplayNumber(phoneNumberID string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, displayNumber(phoneNumberID))
}

// deliverLater sends a change of field after delay in the background.
func (w *WebhookSender) deliverLater(delay time.Duration, wabaID, field string, value map[string]any) {
	w.init()
	body, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry":  []any{map[string]any{"id": wabaID, "changes": []any{map[string]any{"value": value, "field": field}}}},
	})
	if err != nil {
		w.log().Error("encoding a simulated webhook", "error", err.Error())
		return
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		if !sleep(delay, w.stop, nil) {
			return
		}
		w.deliver(body)
	}()
}

// deliver posts the body until the callback answers 200, as Meta does.
func (w *WebhookSender) deliver(body []byte) {
	attempts, delay := w.MaxAttempts, w.RetryDelay
	if attempts <= 0 {
		attempts = 8
	}
	if delay <= 0 {
		delay = 200 * time.Millisecond
	}
	sig := webhook.Sign(body, w.AppSecret)
	for attempt := 1; attempt <= attempts; attempt++ {
		status, err := w.post(body, sig)
		if err == nil && status == http.StatusOK {
			return
		}
		reason := fmt.Sprintf("HTTP %d", status)
		if err != nil {
			reason = err.Error()
		}
		w.log().Warn("simulated webhook not accepted; retrying", "attempt", attempt, "reason", reason)
		if !sleep(delay, w.stop, nil) {
			return
		}
		delay *= 2
	}
	w.log().Error("simulated webhook dropped after retries", "attempts", attempts)
}

// webhookClient sends the simulated webhooks.
var webhookClient = &http.Client{Timeout: 10 * time.Second}

func (w *WebhookSender) post(body []byte, sig string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := webhookClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

func (w *WebhookSender) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return logging.Discard()
}

// Close stops pending deliveries and waits for those in flight.
func (w *WebhookSender) Close() {
	w.init()
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
