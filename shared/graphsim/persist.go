package graphsim

import (
	"encoding/json"
	"fmt"
	"time"
)

// The simulated world as SaveWorld encodes it: what the simulator learnt and did (codes, tokens, WABAs,
// numbers, credit allocations, the call and side-effect counters), so that a runner restarted on the same
// state finds Meta as it left it. Faults and the configuration are not part of it.
type (
	worldDoc struct {
		Version     int                      `json:"version"`
		Codes       map[string]codeDoc       `json:"codes"`
		Tokens      map[string]tokenDoc      `json:"tokens"`
		WABAs       map[string]wabaDoc       `json:"wabas"`
		Phones      map[string]phoneDoc      `json:"phones"`
		Allocations map[string]allocationDoc `json:"allocations"`
		Calls       map[string]int           `json:"calls"`
		Effects     map[string]int           `json:"effects"`
		Seq         int64                    `json:"seq"`
	}
	codeDoc struct {
		Issued  time.Time `json:"issued"`
		Used    bool      `json:"used,omitempty"`
		WABA    string    `json:"waba"`
		PhoneID string    `json:"phone_id,omitempty"`
	}
	tokenDoc struct {
		WABA    string    `json:"waba"`
		Phones  []string  `json:"phones,omitempty"`
		UserID  string    `json:"user_id,omitempty"`
		Issued  time.Time `json:"issued"`
		Revoked bool      `json:"revoked,omitempty"`
		// Expires is when an expiring token ends (absent: never).
		Expires *time.Time `json:"expires,omitempty"`
	}
	wabaDoc struct {
		ID         string              `json:"id"`
		Name       string              `json:"name,omitempty"`
		Currency   string              `json:"currency,omitempty"`
		FundingID  string              `json:"funding_id,omitempty"`
		Owner      string              `json:"owner,omitempty"`
		Subscribed bool                `json:"subscribed,omitempty"`
		Override   string              `json:"override,omitempty"`
		Assigned   map[string][]string `json:"assigned,omitempty"`
		Allocation string              `json:"allocation,omitempty"`
		Phones     []string            `json:"phones,omitempty"`
	}
	phoneDoc struct {
		ID               string               `json:"id"`
		WABA             string               `json:"waba"`
		Display          string               `json:"display,omitempty"`
		VerifiedName     string               `json:"verified_name,omitempty"`
		Platform         string               `json:"platform,omitempty"`
		Status           string               `json:"status,omitempty"`
		CodeVerification string               `json:"code_verification,omitempty"`
		Quality          string               `json:"quality,omitempty"`
		BizApp           bool                 `json:"biz_app,omitempty"`
		PIN              string               `json:"pin,omitempty"`
		Region           string               `json:"region,omitempty"`
		RegisterCalls    []time.Time          `json:"register_calls,omitempty"`
		BlockedUntil     time.Time            `json:"blocked_until,omitzero"`
		Windows          map[string]time.Time `json:"windows,omitempty"`
		CodeRequested    time.Time            `json:"code_requested,omitzero"`
		Onboarded        time.Time            `json:"onboarded,omitzero"`
		Synced           map[string]bool      `json:"synced,omitempty"`
	}
	allocationDoc struct {
		ID         string `json:"id"`
		Line       string `json:"line"`
		WABA       string `json:"waba"`
		Credential string `json:"credential"`
		Business   string `json:"business,omitempty"`
		Deleted    bool   `json:"deleted,omitempty"`
		Seq        int64  `json:"seq"`
	}
)

const worldVersion = 1

// SaveWorld encodes the simulated world. It holds the tokens the simulator issued and the PINs numbers were
// registered with: whoever stores it must protect it as a secret (the local runner encrypts it).
func (s *Server) SaveWorld() ([]byte, error) {
	s.mu.Lock()
	d := worldDoc{
		Version: worldVersion, Codes: map[string]codeDoc{}, Tokens: map[string]tokenDoc{}, WABAs: map[string]wabaDoc{},
		Phones: map[string]phoneDoc{}, Allocations: map[string]allocationDoc{}, Calls: map[string]int{}, Effects: map[string]int{},
		Seq: s.seq,
	}
	for k, c := range s.codes {
		d.Codes[k] = codeDoc{Issued: c.issued, Used: c.used, WABA: c.waba, PhoneID: c.phoneID}
	}
	for k, t := range s.tokens {
		td := tokenDoc{WABA: t.waba, Phones: t.phones, UserID: t.userID, Issued: t.issued, Revoked: t.revoked}
		if !t.expires.IsZero() {
			e := t.expires
			td.Expires = &e
		}
		d.Tokens[k] = td
	}
	for k, w := range s.wabas {
		d.WABAs[k] = wabaDoc{ID: w.id, Name: w.name, Currency: w.currency, FundingID: w.fundingID, Owner: w.owner, Subscribed: w.subscribed,
			Override: w.override, Assigned: w.assigned, Allocation: w.allocation, Phones: w.phones}
	}
	for k, p := range s.phones {
		d.Phones[k] = phoneDoc{ID: p.id, WABA: p.waba, Display: p.display, VerifiedName: p.verifiedName, Platform: p.platform,
			Status: p.status, CodeVerification: p.codeVerification, Quality: p.quality, BizApp: p.bizApp, PIN: p.pin, Region: p.region,
			RegisterCalls: p.registerCalls, BlockedUntil: p.blockedUntil, Windows: p.windows,
			CodeRequested: p.codeRequested, Onboarded: p.onboarded, Synced: p.synced}
	}
	for k, a := range s.allocations {
		d.Allocations[k] = allocationDoc{ID: a.id, Line: a.line, WABA: a.waba, Credential: a.credential, Business: a.business, Deleted: a.deleted, Seq: a.seq}
	}
	for k, n := range s.calls {
		d.Calls[k] = n
	}
	for k, n := range s.effects {
		d.Effects[k] = n
	}
	// Encoded under the lock: the maps and slices above are the world's own.
	b, err := json.Marshal(d)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("graphsim: encoding the world: %w", err)
	}
	return b, nil
}

// LoadWorld replaces the simulated world with one SaveWorld encoded.
func (s *Server) LoadWorld(b []byte) error {
	var d worldDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("graphsim: decoding the world: %w", err)
	}
	if d.Version != worldVersion {
		return fmt.Errorf("graphsim: world version %d, want %d", d.Version, worldVersion)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes, s.tokens, s.wabas, s.phones, s.allocations = map[string]*codeRec{}, map[string]*tokenRec{}, map[string]*wabaRec{}, map[string]*phoneRec{}, map[string]*allocationRec{}
	for k, c := range d.Codes {
		s.codes[k] = &codeRec{issued: c.Issued, used: c.Used, waba: c.WABA, phoneID: c.PhoneID}
	}
	for k, t := range d.Tokens {
		s.tokens[k] = &tokenRec{waba: t.WABA, phones: t.Phones, userID: t.UserID, issued: t.Issued, revoked: t.Revoked}
		if t.Expires != nil {
			s.tokens[k].expires = *t.Expires
		}
	}
	for k, w := range d.WABAs {
		assigned := w.Assigned
		if assigned == nil {
			assigned = map[string][]string{}
		}
		s.wabas[k] = &wabaRec{id: w.ID, name: w.Name, currency: w.Currency, fundingID: w.FundingID, owner: w.Owner, subscribed: w.Subscribed,
			override: w.Override, assigned: assigned, allocation: w.Allocation, phones: w.Phones}
	}
	for k, p := range d.Phones {
		windows := p.Windows
		if windows == nil {
			windows = map[string]time.Time{}
		}
		s.phones[k] = &phoneRec{id: p.ID, waba: p.WABA, display: p.Display, verifiedName: p.VerifiedName, platform: p.Platform,
			status: p.Status, codeVerification: p.CodeVerification, quality: p.Quality, bizApp: p.BizApp, pin: p.PIN, region: p.Region,
			registerCalls: p.RegisterCalls, blockedUntil: p.BlockedUntil, windows: windows,
			codeRequested: p.CodeRequested, onboarded: p.Onboarded, synced: p.Synced}
	}
	for k, a := range d.Allocations {
		s.allocations[k] = &allocationRec{id: a.ID, line: a.Line, waba: a.WABA, credential: a.Credential, business: a.Business, deleted: a.Deleted, seq: a.Seq}
	}
	s.calls, s.effects = map[string]int{}, map[string]int{}
	for k, n := range d.Calls {
		s.calls[k] = n
	}
	for k, n := range d.Effects {
		s.effects[k] = n
	}
	s.seq = d.Seq
	return nil
}

// changed tells Config.OnChange that the world may have changed.
func (s *Server) changed() {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange()
	}
}
