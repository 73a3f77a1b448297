package graphsim

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waes/onboarding/shared/httpapi"
	"github.com/waes/onboarding/shared/onboarding"
)

// UserMessagesPath is where the local runner serves UserMessagesHandler.
const UserMessagesPath = "/_local/sim/messages"

// UserMessage is a text a simulated WhatsApp user sends to a business number. The user is known by phone
// (From, E.164) or, for a user with a username who shares no phone number, by business-scoped user id only
// (FromUserID, e.g. US.13491208655302741918): exactly one of the two is set.
type UserMessage struct {
	PhoneNumberID string `json:"phone_number_id"`
	Text          string `json:"text"`
	From          string `json:"from,omitempty"`
	FromUserID    string `json:"from_user_id,omitempty"`
	// Username is the user's WhatsApp username, shown in the webhook's contact profile.
	Username string `json:"username,omitempty"`
}

// UserMessageResult is what SendUserMessage did.
type UserMessageResult struct {
	MessageID     string `json:"message_id"`
	WABAID        string `json:"waba_id"`
	PhoneNumberID string `json:"phone_number_id"`
	// WindowExpiresAt is when the customer service window this message opened closes.
	WindowExpiresAt time.Time `json:"window_expires_at"`
}

// User identifies a simulated WhatsApp user in a webhook: WAID (phone digits) and/or UserID (BSUID).
type User struct {
	WAID     string
	UserID   string
	Username string
	Name     string
}

// UserObserver is an Observer that can also report messages from users known by BSUID or with a username.
// WebhookSender implements it; an Observer without it is told only about phone users without a username.
type UserObserver interface {
	InboundUserMessage(wabaID, phoneNumberID string, from User, messageID, text string, at time.Time)
}

// FieldError is a UserMessage the simulator refuses; Field names the JSON field at fault.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var (
	// bsuidPattern is a business-scoped user id as Meta shows them: an ISO country code, a dot, digits.
	bsuidPattern = regexp.MustCompile(`^[A-Z]{2}\.[0-9]{1,32}$`)
	// usernamePattern is the simulator's rule for usernames: 3 to 35 letters, digits, '.' and '_'.
	usernamePattern = regexp.MustCompile(`^[A-Za-z0-9._]{3,35}$`)
)

// SimulatedUserName is the profile name of the simulated users (a username shows instead when given).
const SimulatedUserName = "Simulated User"

// SendUserMessage makes a simulated user message a registered business number: it opens the user's
// 24-hour customer service window with the number (so the business may reply with a free-form message),
// and tells the observer, which sends the signed inbound messages webhook Meta would send. A request the
// simulator refuses is *FieldError.
func (s *Server) SendUserMessage(m UserMessage) (UserMessageResult, error) {
	if err := checkUserMessage(m); err != nil {
		return UserMessageResult{}, err
	}
	user := User{UserID: m.FromUserID, Username: m.Username, Name: SimulatedUserName}
	windowKey := m.FromUserID
	if m.From != "" {
		user.WAID, _ = digits(m.From)
		windowKey = user.WAID
	}
	s.mu.Lock()
	ph := s.phones[m.PhoneNumberID]
	if ph == nil || !ph.registered() {
		s.mu.Unlock()
		return UserMessageResult{}, &FieldError{Field: "phone_number_id", Message: "the simulator knows no business number with this id registered for Cloud API (onboard it first)"}
	}
	now := s.cfg.Now()
	if now.After(ph.Windows[windowKey]) {
		ph.Windows[windowKey] = now
	}
	res := UserMessageResult{MessageID: newWAMID(), WABAID: ph.WABA, PhoneNumberID: ph.ID, WindowExpiresAt: now.Add(ServiceWindow).UTC()}
	s.mu.Unlock()
	s.changed()

	obs := s.cfg.Observer
	if obs == nil {
		return res, nil
	}
	if user.UserID == "" && user.Username == "" {
		// A phone user without a username: the same webhook as the tester's after a registration.
		obs.InboundMessage(res.WABAID, res.PhoneNumberID, user.WAID, res.MessageID, m.Text, now)
		return res, nil
	}
	uo, ok := obs.(UserObserver)
	if !ok {
		return UserMessageResult{}, errors.New("the simulator's observer cannot report messages from users known by BSUID or username")
	}
	uo.InboundUserMessage(res.WABAID, res.PhoneNumberID, user, res.MessageID, m.Text, now)
	return res, nil
}

func checkUserMessage(m UserMessage) error {
	switch {
	case !onboarding.ValidGraphID(m.PhoneNumberID):
		return &FieldError{Field: "phone_number_id", Message: "phone_number_id must be the business phone number id: 1 to 20 digits"}
	case m.From != "" && m.FromUserID != "":
		return &FieldError{Field: "from_user_id", Message: "give the sender as from (a phone number) or from_user_id (a business-scoped user id), not both"}
	case m.From == "" && m.FromUserID == "":
		return &FieldError{Field: "from", Message: "from (the sender's phone number, E.164) or from_user_id (its business-scoped user id) is required"}
	case m.From != "" && !onboarding.ValidE164(m.From):
		return &FieldError{Field: "from", Message: "from must be an E.164 phone number such as +15550001111"}
	case m.FromUserID != "" && !bsuidPattern.MatchString(m.FromUserID):
		return &FieldError{Field: "from_user_id", Message: "from_user_id must be a business-scoped user id: a country code, a dot and digits, such as US.13491208655302741918"}
	case m.Username != "" && !usernamePattern.MatchString(m.Username):
		return &FieldError{Field: "username", Message: "username must be 3 to 35 letters, digits, '.' or '_'"}
	case strings.TrimSpace(m.Text) == "":
		return &FieldError{Field: "text", Message: "text must not be empty"}
	case utf8.RuneCountInString(m.Text) > MaxTextBody:
		return &FieldError{Field: "text", Message: "text must be at most " + strconv.Itoa(MaxTextBody) + " characters long"}
	}
	return nil
}

// maxUserMessageBody bounds the request body of UserMessagesHandler: a 4096-character text of 4-byte
// characters, escaped, fits.
const maxUserMessageBody = 64 << 10

// UserMessagesHandler serves POST /_local/sim/messages: a JSON UserMessage, decoded as strictly as the API
// decodes its bodies (unknown fields, duplicate keys, non-string values, trailing data: 400; not JSON: 415;
// too large: 413), answered 202 with a UserMessageResult once the webhook is on its way to /webhooks.
func (s *Server) UserMessagesHandler() http.Handler {
	fields := []string{"phone_number_id", "text", "from", "from_user_id", "username"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			httpapi.WriteError(w, http.StatusMethodNotAllowed, onboarding.CodeMethodNotAllowed, "", "use POST")
			return
		}
		v, ok := httpapi.ReadStringObject(w, r, maxUserMessageBody, fields)
		if !ok {
			return
		}
		m := UserMessage{PhoneNumberID: v["phone_number_id"], Text: v["text"], From: v["from"], FromUserID: v["from_user_id"], Username: v["username"]}
		res, err := s.SendUserMessage(m)
		var fe *FieldError
		if errors.As(err, &fe) {
			httpapi.WriteError(w, http.StatusBadRequest, onboarding.CodeInvalidField, fe.Field, fe.Message)
			return
		}
		if err != nil {
			httpapi.WriteError(w, http.StatusInternalServerError, onboarding.CodeInternal, "", err.Error())
			return
		}
		httpapi.WriteJSON(w, http.StatusAccepted, res)
	})
}

// InboundUserMessage sends the messages webhook of a user's text as Meta shapes it for usernames and
// business-scoped user ids: the contact carries user_id (the BSUID) and profile.username when the user has
// them, and wa_id only when Meta may share the phone number; the message carries from_user_id, and from only
// with a phone number. A BSUID-only user's webhook therefore has no phone number anywhere.
func (w *WebhookSender) InboundUserMessage(wabaID, phoneNumberID string, from User, messageID, text string, at time.Time) {
	profile := map[string]string{"name": from.Name}
	if from.Username != "" {
		profile["username"] = from.Username
	}
	contact := map[string]any{"profile": profile}
	msg := map[string]any{
		"id": messageID, "timestamp": strconv.FormatInt(at.Unix(), 10), "type": "text", "text": map[string]string{"body": text},
	}
	if from.WAID != "" {
		contact["wa_id"] = from.WAID
		msg["from"] = from.WAID
	}
	if from.UserID != "" {
		contact["user_id"] = from.UserID
		msg["from_user_id"] = from.UserID
	}
	w.deliverLater(0, wabaID, "messages", map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          metadata(phoneNumberID),
		"contacts":          []any{contact},
		"messages":          []any{msg},
	})
}
