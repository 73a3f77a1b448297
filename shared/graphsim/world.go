package graphsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// World rules (Meta's documented limits).
const (
	// RegisterLimit register calls per number per RegisterWindow; the next one blocks the number for
	// RegisterWindow (error 133016).
	RegisterLimit  = 10
	RegisterWindow = 72 * time.Hour
	// ServiceWindow is how long after a user's message the business may reply freely.
	ServiceWindow = 24 * time.Hour
	// MaxTextBody is the longest text body in characters.
	MaxTextBody = 4096
)

// Phone platform values.
const (
	PlatformCloudAPI      = "CLOUD_API"
	PlatformNotApplicable = "NOT_APPLICABLE"
	StatusConnected       = "CONNECTED"
	StatusDisconnected    = "DISCONNECTED"
)

// The records of the simulated world. Their JSON form is what SaveWorld keeps.
type codeRec struct {
	Issued  time.Time `json:"issued"`
	Used    bool      `json:"used,omitempty"`
	WABA    string    `json:"waba"`
	PhoneID string    `json:"phone_id,omitempty"`
}

type tokenRec struct {
	WABA    string    `json:"waba"`
	Phones  []string  `json:"phones,omitempty"`
	UserID  string    `json:"user_id,omitempty"`
	Issued  time.Time `json:"issued"`
	Revoked bool      `json:"revoked,omitempty"`
	// Expires is when the token ends (zero: never; ExpiringTokenLifetime for an "expiring" code).
	Expires time.Time `json:"expires,omitzero"`
}

// ExpiringTokenLifetime is the life of the business token granted for a code whose nonce starts with
// "expiring" (sim:<waba_id>:<phone_number_id>:expiring-<nonce>): inside the token health check's warning
// window.
const ExpiringTokenLifetime = 72 * time.Hour

// expired reports whether the token has ended at now.
func (t *tokenRec) expired(now time.Time) bool { return !t.Expires.IsZero() && !now.Before(t.Expires) }

type wabaRec struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Currency  string `json:"currency,omitempty"`
	FundingID string `json:"funding_id,omitempty"`
	// Owner is the customer's business portfolio (owner_business_info).
	Owner      string              `json:"owner,omitempty"`
	Subscribed bool                `json:"subscribed,omitempty"`
	Override   string              `json:"override,omitempty"`
	Assigned   map[string][]string `json:"assigned,omitempty"`
	Allocation string              `json:"allocation,omitempty"`
	Phones     []string            `json:"phones,omitempty"`
}

type phoneRec struct {
	ID               string `json:"id"`
	WABA             string `json:"waba"`
	Display          string `json:"display,omitempty"`
	VerifiedName     string `json:"verified_name,omitempty"`
	Platform         string `json:"platform,omitempty"`
	Status           string `json:"status,omitempty"`
	CodeVerification string `json:"code_verification,omitempty"`
	Quality          string `json:"quality,omitempty"`
	BizApp           bool   `json:"biz_app,omitempty"`
	PIN              string `json:"pin,omitempty"`
	// Region is the data_localization_region of the registration.
	Region        string               `json:"region,omitempty"`
	RegisterCalls []time.Time          `json:"register_calls,omitempty"`
	BlockedUntil  time.Time            `json:"blocked_until,omitzero"`
	Windows       map[string]time.Time `json:"windows,omitempty"`
	// CodeRequested is when the last verification code was sent (request_code); zero: none pending.
	CodeRequested time.Time `json:"code_requested,omitzero"`
	// Onboarded is when a code granting the number was exchanged: the coexistence sync window starts then.
	Onboarded time.Time `json:"onboarded,omitzero"`
	// Synced records the coexistence sync types already requested (smb_app_data, once each).
	Synced map[string]bool `json:"synced,omitempty"`
}

func (p *phoneRec) registered() bool {
	return p.Platform == PlatformCloudAPI && p.Status == StatusConnected
}

type allocationRec struct {
	ID         string `json:"id"`
	Line       string `json:"line"`
	WABA       string `json:"waba"`
	Credential string `json:"credential"`
	// Business is the receiving business portfolio (the WABA's owner when it was shared).
	Business string `json:"business,omitempty"`
	// Deleted is set by a revoke (DELETE /<ALLOCATION_CONFIG_ID>).
	Deleted bool  `json:"deleted,omitempty"`
	Seq     int64 `json:"seq"`
}

// WABAState is a snapshot of a simulated WhatsApp Business Account.
type WABAState struct {
	ID, Name, Currency string
	// PrimaryFundingID is the receiving credential of the attached credit line, if any.
	PrimaryFundingID    string
	Subscribed          bool
	OverrideCallbackURI string
	// AssignedUsers are the user ids assigned through assigned_users, sorted.
	AssignedUsers      []string
	AllocationConfigID string
	PhoneNumberIDs     []string
}

// PhoneState is a snapshot of a simulated business phone number, and what SetPhone sets.
type PhoneState struct {
	ID, WABAID                            string
	DisplayPhoneNumber, VerifiedName      string
	PlatformType, Status                  string
	CodeVerificationStatus, QualityRating string
	IsOnBizApp                            bool
	// PIN is the two-step verification PIN set by the last successful register (empty: none).
	PIN onboarding.Secret
	// RegisterCalls counts register calls in the last 72 hours.
	RegisterCalls int
	// BlockedUntil is when a number blocked by error 133016 may register again.
	BlockedUntil time.Time
	// DataLocalizationRegion is the local storage region the number was registered with (read only).
	DataLocalizationRegion string
}

// Registered reports whether the number is registered for Cloud API and connected.
func (p PhoneState) Registered() bool {
	return p.PlatformType == PlatformCloudAPI && p.Status == StatusConnected
}

// WABAState returns a snapshot of a WABA.
func (s *Server) WABAState(id string) (WABAState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.wabas[id]
	if w == nil {
		return WABAState{}, false
	}
	st := WABAState{ID: w.ID, Name: w.Name, Currency: w.Currency, PrimaryFundingID: w.FundingID,
		Subscribed: w.Subscribed, OverrideCallbackURI: w.Override, AllocationConfigID: w.Allocation,
		PhoneNumberIDs: append([]string(nil), w.Phones...), AssignedUsers: slices.Sorted(maps.Keys(w.Assigned))}
	return st, true
}

// PhoneState returns a snapshot of a phone number.
func (s *Server) PhoneState(id string) (PhoneState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.phones[id]
	if p == nil {
		return PhoneState{}, false
	}
	return PhoneState{ID: p.ID, WABAID: p.WABA, DisplayPhoneNumber: p.Display, VerifiedName: p.VerifiedName,
		PlatformType: p.Platform, Status: p.Status, CodeVerificationStatus: p.CodeVerification,
		QualityRating: p.Quality, IsOnBizApp: p.BizApp, PIN: onboarding.NewSecret(p.PIN), DataLocalizationRegion: p.Region,
		RegisterCalls: len(recent(p.RegisterCalls, s.cfg.Now())), BlockedUntil: p.BlockedUntil}, true
}

// SetPhone creates or replaces a phone number's state (tests). An empty WABAID, DisplayPhoneNumber or
// VerifiedName keeps the current (or default) value; RegisterCalls becomes that many calls made now.
func (s *Server) SetPhone(id string, p PhoneState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.ensurePhone(id, p.WABAID)
	if p.WABAID != "" && rec.WABA != p.WABAID {
		s.movePhone(rec, p.WABAID)
	}
	if p.DisplayPhoneNumber != "" {
		rec.Display = p.DisplayPhoneNumber
	}
	if p.VerifiedName != "" {
		rec.VerifiedName = p.VerifiedName
	}
	rec.Platform, rec.Status = p.PlatformType, p.Status
	rec.CodeVerification, rec.Quality = p.CodeVerificationStatus, p.QualityRating
	rec.BizApp, rec.PIN, rec.BlockedUntil = p.IsOnBizApp, p.PIN.Reveal(), p.BlockedUntil
	now := s.cfg.Now()
	rec.RegisterCalls = nil
	for range p.RegisterCalls {
		rec.RegisterCalls = append(rec.RegisterCalls, now)
	}
}

// OpenWindow records an inbound message from userNumber (E.164 or digits, or a business-scoped user id for a
// user known without a phone number) to the business number at at, opening the 24-hour customer service
// window. For a phone number the window opens for its simulated BSUID (UserID) too: Meta lets a business
// reply to either.
func (s *Server) OpenWindow(phoneNumberID, userNumber string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.ensurePhone(phoneNumberID, "")
	keys := []string{userNumber}
	if !onboarding.ValidBSUID(userNumber) {
		d, _ := digits(userNumber)
		keys = []string{d, UserID(d)}
	}
	for _, k := range keys {
		if at.After(rec.Windows[k]) {
			rec.Windows[k] = at
		}
	}
}

// OwnerBusinessID is the simulated business portfolio that owns a WABA: "5" and the WABA id's last 14 digits,
// so that every WABA of the simulated world has its own customer business.
func OwnerBusinessID(wabaID string) string {
	if len(wabaID) > 14 {
		wabaID = wabaID[len(wabaID)-14:]
	}
	return "5" + wabaID
}

// UserID is the simulated business-scoped user id of a WhatsApp user's phone number (digits, with or
// without +): "US." and 20 digits derived from the number, stable across runs, as Meta's BSUIDs are per
// business portfolio and user.
func UserID(phone string) string {
	d := strings.TrimPrefix(phone, "+")
	h := fnv.New64a()
	h.Write([]byte(d))
	return fmt.Sprintf("US.%020d", h.Sum64())
}

// IssueCode returns a fresh code granting exactly wabaID and phoneNumberID (empty for a WABA-only grant),
// issued now: it can be exchanged once, within CodeTTL.
func (s *Server) IssueCode(wabaID, phoneNumberID string) string {
	code := "sim:" + wabaID + ":" + phoneNumberID + ":" + randomHex(8)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = &codeRec{Issued: s.cfg.Now(), WABA: wabaID, PhoneID: phoneNumberID}
	return code
}

// IssueToken returns a business token granting wabaID and phoneNumberID, as if a code had been exchanged
// (tests of later steps).
func (s *Server) IssueToken(wabaID, phoneNumberID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grant(wabaID, phoneNumberID, s.cfg.Now())
}

// RevokeToken invalidates a business token (Meta then answers 190).
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[token]; t != nil {
		t.Revoked = true
	}
}

// grant creates a business token and the world it reaches. Callers hold s.mu.
func (s *Server) grant(wabaID, phoneID string, now time.Time) string {
	s.ensureWABA(wabaID)
	t := &tokenRec{WABA: wabaID, UserID: s.newID("6155000"), Issued: now}
	if phoneID != "" {
		p := s.ensurePhone(phoneID, wabaID)
		t.Phones = []string{phoneID}
		if p.Onboarded.IsZero() {
			p.Onboarded = now
		}
	}
	tok := newToken()
	s.tokens[tok] = t
	return tok
}

func (s *Server) ensureWABA(id string) *wabaRec {
	w := s.wabas[id]
	if w == nil {
		w = &wabaRec{ID: id, Name: "Sim Business " + last4(id), Currency: "USD", Assigned: map[string][]string{}, Owner: OwnerBusinessID(id)}
		s.wabas[id] = w
	}
	return w
}

// ensurePhone returns the number, creating it in its initial state: unregistered, except for the
// deterministic special numbers (ids ending in 1111: already on Cloud API; 2222: WhatsApp Business app
// coexistence numbers, connected; 3333: ownership not verified, so /register is refused until verify_code
// succeeds).
func (s *Server) ensurePhone(id, wabaID string) *phoneRec {
	p := s.phones[id]
	if p == nil {
		p = &phoneRec{ID: id, Display: displayNumber(id), VerifiedName: "Sim Business " + last4(id),
			Platform: PlatformNotApplicable, Status: StatusDisconnected, CodeVerification: "VERIFIED",
			Quality: "UNKNOWN", Windows: map[string]time.Time{}}
		switch {
		case strings.HasSuffix(id, "1111"):
			p.Platform, p.Status, p.Quality = PlatformCloudAPI, StatusConnected, "GREEN"
		case strings.HasSuffix(id, "2222"):
			p.Platform, p.Status, p.Quality, p.BizApp = PlatformCloudAPI, StatusConnected, "GREEN", true
		case strings.HasSuffix(id, "3333"):
			p.CodeVerification = CodeNotVerified
		}
		s.phones[id] = p
	}
	if p.WABA == "" && wabaID != "" {
		s.movePhone(p, wabaID)
	}
	return p
}

func (s *Server) movePhone(p *phoneRec, wabaID string) {
	if old := s.wabas[p.WABA]; old != nil {
		for i, id := range old.Phones {
			if id == p.ID {
				old.Phones = append(old.Phones[:i:i], old.Phones[i+1:]...)
				break
			}
		}
	}
	p.WABA = wabaID
	w := s.ensureWABA(wabaID)
	w.Phones = append(w.Phones, p.ID)
}

// newID returns a fresh numeric id with the given prefix. Callers hold s.mu.
func (s *Server) newID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%08d", prefix, s.seq)
}

// principal is who a request's access token speaks for.
type principal struct {
	kind int
	tok  *tokenRec
}

const (
	kindBusiness = iota + 1
	kindSystem
	kindApp
)

// auth resolves the access token like Meta: missing is 104, unknown or revoked is 190.
func (s *Server) auth(q *request) (principal, *result) {
	switch {
	case q.token == "":
		return principal{}, s.gerr(104)
	case q.token == s.cfg.SystemToken.Reveal():
		return principal{kind: kindSystem}, nil
	case q.token == s.cfg.AppID+"|"+s.cfg.AppSecret.Reveal():
		return principal{kind: kindApp}, nil
	}
	t := s.tokens[q.token]
	if t == nil {
		return principal{}, s.gerr(190)
	}
	if t.expired(q.now) {
		return principal{}, s.gerr(190, withSubcode(463), withMessage("Error validating access token: Session has expired."))
	}
	if t.Revoked {
		return principal{}, s.gerr(190, withSubcode(460), withMessage("Error validating access token: The session has been invalidated "+
			"because the user changed their password or Facebook has changed the session for security reasons."))
	}
	return principal{kind: kindBusiness, tok: t}, nil
}

// wabaFor returns the WABA if the principal may reach it: the system token reaches every WABA shared with
// the partner, a business token only its own.
func (s *Server) wabaFor(p principal, id, method string) (*wabaRec, *result) {
	w := s.wabas[id]
	if w == nil || !(p.kind == kindSystem || (p.kind == kindBusiness && p.tok.WABA == id)) {
		return nil, s.unsupported(method, id)
	}
	return w, nil
}

// phoneFor returns the number if the principal may reach it: a business token reaches the numbers of its
// WABA and the numbers it was granted.
func (s *Server) phoneFor(p principal, id, method string) (*phoneRec, *result) {
	ph := s.phones[id]
	if ph == nil {
		return nil, s.unsupported(method, id)
	}
	switch p.kind {
	case kindSystem:
		return ph, nil
	case kindBusiness:
		if (ph.WABA != "" && ph.WABA == p.tok.WABA) || slices.Contains(p.tok.Phones, id) {
			return ph, nil
		}
	}
	return nil, s.unsupported(method, id)
}

// --- helpers ---

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newToken returns an opaque EAA-prefixed token, shaped like Meta's.
func newToken() string {
	b := randomBytes(150)
	out := make([]byte, 0, 4+len(b))
	out = append(out, "EAAG"...)
	for _, c := range b {
		out = append(out, alnum[int(c)%len(alnum)])
	}
	return string(out)
}

func newTraceID() string { return base64.RawURLEncoding.EncodeToString(randomBytes(8)) }

func newWAMID() string { return "wamid." + base64.StdEncoding.EncodeToString(randomBytes(30)) }

func last4(id string) string {
	if len(id) <= 4 {
		return id
	}
	return id[len(id)-4:]
}

// displayNumber derives a stable US test number from a phone number id: +1 555-XXX-XXXX.
func displayNumber(id string) string {
	d := id
	if len(d) < 7 {
		d = strings.Repeat("0", 7-len(d)) + d
	}
	d = d[len(d)-7:]
	return "+1 555-" + d[:3] + "-" + d[3:]
}

// digits strips an E.164 number to Meta's wa_id form and reports whether it has 7 to 15 digits.
func digits(n string) (string, bool) {
	n = strings.TrimPrefix(strings.TrimSpace(n), "+")
	if len(n) < 7 || len(n) > 15 {
		return n, false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return n, false
		}
	}
	return n, true
}

func isID(s string) bool { return onboarding.ValidGraphID(s) }

// recent returns the calls within RegisterWindow of now.
func recent(calls []time.Time, now time.Time) []time.Time {
	var out []time.Time
	for _, c := range calls {
		if now.Sub(c) < RegisterWindow {
			out = append(out, c)
		}
	}
	return out
}

func cursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sim-cursor:" + strconv.Itoa(i)))
}

func parseCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "sim-cursor:"))
	return n, err == nil && n >= 0 && strings.HasPrefix(string(b), "sim-cursor:")
}
