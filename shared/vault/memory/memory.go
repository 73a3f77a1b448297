// Package memory is an in-memory onboarding.Vault for the local runner and for unit tests above the
// adapters. It has the semantics of the Secrets Manager adapter (EnsurePIN keeps the first PIN,
// PutBusinessToken keeps the PINs, a write whose change is already stored writes nothing, ErrNotFound for an
// unknown WABA) and adds test helpers: a write counter and fault injection.
package memory

import (
	"fmt"
	"sync"

	"github.com/waes/onboarding/internal/vaultargs"
	"github.com/waes/onboarding/shared/onboarding"
)

// Operation names, for FailNext and FailNextAfterWrite.
const (
	OpAppConfig        = vaultargs.OpAppConfig
	OpWABASecret       = vaultargs.OpWABASecret
	OpPutBusinessToken = vaultargs.OpPutBusinessToken
	OpEnsurePIN        = vaultargs.OpEnsurePIN
	OpSetPIN           = vaultargs.OpSetPIN
	OpDeleteWABASecret = vaultargs.OpDeleteWABASecret
)

// Vault is an in-memory onboarding.Vault. It is safe for concurrent use. The zero value is not usable; call New.
type Vault struct {
	vaultargs.Adapter
	s *store
}

var _ onboarding.Vault = (*Vault)(nil)

// store is the vaultargs.Store of a Vault.
type store struct {
	mu     sync.Mutex
	app    onboarding.AppConfig
	wabas  map[string]*onboarding.WABASecret
	writes int
	faults map[string][]fault
}

type fault struct {
	err error
	// afterWrite: the call makes its change, then fails, like a write whose response was lost.
	afterWrite bool
}

// Format keeps the secrets out of fmt output (a test that logs the vault with %v, say): fmt prints
// unexported fields by reflection, bypassing onboarding.Secret's own redaction.
func (v *Vault) Format(f fmt.State, _ rune) { fmt.Fprint(f, "memory.Vault{values redacted}") }

// New returns an empty vault whose stage configuration is app.
func New(app onboarding.AppConfig) *Vault {
	s := &store{app: app, wabas: map[string]*onboarding.WABASecret{}, faults: map[string][]fault{}}
	return &Vault{Adapter: vaultargs.Adapter{Name: "memory vault", Store: s}, s: s}
}

// SetAppConfig replaces the stage configuration (to test a secret rotation, for example).
func (v *Vault) SetAppConfig(app onboarding.AppConfig) {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	v.s.app = app
}

// Writes returns the number of state-changing writes so far. A repeated write whose change is already
// stored does not count, so a test can assert that re-running a step wrote nothing.
func (v *Vault) Writes() int {
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	return v.s.writes
}

// FailNext makes the next call of op (one of the Op constants) return err without reading or changing
// anything. Calls queue up: FailNext twice fails the next two calls.
func (v *Vault) FailNext(op string, err error) { v.inject(op, fault{err: err}) }

// FailNextAfterWrite makes the next call of op make its change (if any) and then return err, as when the
// store applied a write but the answer was lost. For read operations it is the same as FailNext.
func (v *Vault) FailNextAfterWrite(op string, err error) {
	v.inject(op, fault{err: err, afterWrite: true})
}

func (v *Vault) inject(op string, f fault) {
	switch op {
	case OpAppConfig, OpWABASecret, OpPutBusinessToken, OpEnsurePIN:
	default:
		// A misspelt operation would silently inject nothing and the test would pass for the wrong reason.
		panic(fmt.Sprintf("memory vault: unknown operation %q", op))
	}
	if f.err == nil {
		panic("memory vault: injected error is nil")
	}
	v.s.mu.Lock()
	defer v.s.mu.Unlock()
	v.s.faults[op] = append(v.s.faults[op], f)
}

// fault pops the next injected fault of op: its error, and whether to return it only after making the
// change. s.mu must be held.
func (s *store) fault(op string) (afterWrite bool, err error) {
	q := s.faults[op]
	if len(q) == 0 {
		return false, nil
	}
	s.faults[op] = q[1:]
	return q[0].afterWrite, q[0].err
}

func (s *store) AppConfig() (onboarding.AppConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.fault(OpAppConfig); err != nil {
		return onboarding.AppConfig{}, err
	}
	return s.app, nil
}

func (s *store) Get(wabaID string) (*onboarding.WABASecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.fault(OpWABASecret); err != nil {
		return nil, err
	}
	if e := s.wabas[wabaID]; e != nil {
		return vaultargs.Copy(e), nil
	}
	return nil, nil
}

func (s *store) Update(wabaID string, c vaultargs.Change) (*onboarding.WABASecret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	afterWrite, err := s.fault(c.Op)
	if err != nil && !afterWrite {
		return nil, err
	}
	e := s.wabas[wabaID]
	if e == nil {
		e = &onboarding.WABASecret{PINs: map[string]onboarding.Secret{}}
		s.wabas[wabaID] = e
	}
	if c.Apply(e) {
		s.writes++
	}
	if err != nil {
		return nil, err
	}
	return vaultargs.Copy(e), nil
}

func (s *store) Delete(wabaID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.wabas[wabaID]; ok {
		delete(s.wabas, wabaID)
		s.writes++
	}
	return nil
}
