package graphsim

import (
	"encoding/json"
	"fmt"
	"time"
)

// worldDoc is the simulated world as SaveWorld encodes it: what the simulator learnt and did (codes, tokens,
// WABAs, numbers, credit allocations, the call and side-effect counters), so that a runner restarted on the
// same state finds Meta as it left it. Faults and the configuration are not part of it.
type worldDoc struct {
	Version     int                       `json:"version"`
	Codes       map[string]*codeRec       `json:"codes"`
	Tokens      map[string]*tokenRec      `json:"tokens"`
	WABAs       map[string]*wabaRec       `json:"wabas"`
	Phones      map[string]*phoneRec      `json:"phones"`
	Allocations map[string]*allocationRec `json:"allocations"`
	Calls       map[string]int            `json:"calls"`
	Effects     map[string]int            `json:"effects"`
	Seq         int64                     `json:"seq"`
}

const worldVersion = 1

// SaveWorld encodes the simulated world. It holds the tokens the simulator issued and the PINs numbers were
// registered with: whoever stores it must protect it as a secret (the local runner encrypts it).
func (s *Server) SaveWorld() ([]byte, error) {
	s.mu.Lock()
	// Encoded under the lock: the maps are the world's own.
	b, err := json.Marshal(worldDoc{Version: worldVersion, Codes: s.codes, Tokens: s.tokens, WABAs: s.wabas, Phones: s.phones,
		Allocations: s.allocations, Calls: s.calls, Effects: s.effects, Seq: s.seq})
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("graphsim: encoding the world: %w", err)
	}
	return b, nil
}

// LoadWorld replaces the simulated world with one SaveWorld encoded.
func (s *Server) LoadWorld(b []byte) error {
	d := worldDoc{Codes: map[string]*codeRec{}, Tokens: map[string]*tokenRec{}, WABAs: map[string]*wabaRec{},
		Phones: map[string]*phoneRec{}, Allocations: map[string]*allocationRec{}, Calls: map[string]int{}, Effects: map[string]int{}}
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("graphsim: decoding the world: %w", err)
	}
	if d.Version != worldVersion {
		return fmt.Errorf("graphsim: world version %d, want %d", d.Version, worldVersion)
	}
	// The handlers write to these maps; the encoding leaves empty ones out.
	for _, w := range d.WABAs {
		if w.Assigned == nil {
			w.Assigned = map[string][]string{}
		}
	}
	for _, p := range d.Phones {
		if p.Windows == nil {
			p.Windows = map[string]time.Time{}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes, s.tokens, s.wabas, s.phones, s.allocations = d.Codes, d.Tokens, d.WABAs, d.Phones, d.Allocations
	s.calls, s.effects, s.seq = d.Calls, d.Effects, d.Seq
	return nil
}

// changed tells Config.OnChange that the world may have changed.
func (s *Server) changed() {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange()
	}
}
