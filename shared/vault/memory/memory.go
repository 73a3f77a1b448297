// Package memory is an in-memory onboarding.Vault for the local runner and for unit tests above the
// adapters. It has the semantics of the Secrets Manager adapter (EnsurePIN keeps the first PIN,
// PutBusinessToken keeps the PINs, a write whose change is already stored writes nothing, ErrNotFound for an
// unknown WABA) and adds test helpers: a write counter and fault injection.
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/waes/onboarding/internal/vaultargs"
	"github.com/waes/onboarding/shared/onboarding"
)

// Operation names, for FailNext and FailNextAfterWrite.
const (
	OpAppConfig        = "AppConfig"
	OpWABASecret       = "WABASecret"
	OpPutBusinessToken = "PutBusinessToken"
	OpEnsurePIN        = "EnsurePIN"
	OpSetPIN           = "SetPIN"
	OpDeleteWABASecret = "DeleteWABASecret"
)

// Vault is an in-memory onboarding.Vault. It is safe for concurrent use. The zero value is not usable; call New.
type Vault struct {
	mu     sync.Mutex
	app    onboarding.AppConfig
	wabas  map[string]*wabaEntry
	writes int
	faults map[string][]fault
}

var _ onboarding.Vault = (*Vault)(nil)

type wabaEntry struct {
	token     onboarding.Secret
	expiresAt time.Time
	pins      map[string]onboarding.Secret
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
	return &Vault{app: app, wabas: map[string]*wabaEntry{}, faults: map[string][]fault{}}
}

// SetAppConfig replaces the stage configuration (to test a secret rotation, for example).
func (v *Vault) SetAppConfig(app onboarding.AppConfig) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.app = app
}

// Writes returns the number of state-changing writes so far. A repeated write whose change is already
// stored does not count, so a test can assert that re-running a step wrote nothing.
func (v *Vault) Writes() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.writes
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
	v.mu.Lock()
	defer v.mu.Unlock()
	v.faults[op] = append(v.faults[op], f)
}

// takeFault pops the next injected fault of op. v.mu must be held.
func (v *Vault) takeFault(op string) (fault, bool) {
	q := v.faults[op]
	if len(q) == 0 {
		return fault{}, false
	}
	v.faults[op] = q[1:]
	return q[0], true
}

// begin checks the context and pops an injected fault. failNow is the error to return before doing
// anything; failAfter the error to return after making the change. v.mu must be held.
func (v *Vault) begin(ctx context.Context, op string) (failNow, failAfter error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory vault: %s: %w", op, err), nil
	}
	f, ok := v.takeFault(op)
	switch {
	case !ok:
		return nil, nil
	case f.afterWrite:
		return nil, fmt.Errorf("memory vault: %s: %w", op, f.err)
	default:
		return fmt.Errorf("memory vault: %s: %w", op, f.err), nil
	}
}

// AppConfig returns the stage configuration.
func (v *Vault) AppConfig(ctx context.Context) (onboarding.AppConfig, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	failNow, failAfter := v.begin(ctx, OpAppConfig)
	if failNow != nil {
		return onboarding.AppConfig{}, failNow
	}
	if failAfter != nil {
		return onboarding.AppConfig{}, failAfter
	}
	return v.app, nil
}

// WABASecret returns a copy of the WABA's secret, or an error wrapping onboarding.ErrNotFound.
func (v *Vault) WABASecret(ctx context.Context, wabaID string) (*onboarding.WABASecret, error) {
	if err := vaultargs.WABAID(wabaID); err != nil {
		return nil, fmt.Errorf("memory vault: %s: %w", OpWABASecret, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	failNow, failAfter := v.begin(ctx, OpWABASecret)
	if failNow != nil {
		return nil, failNow
	}
	if failAfter != nil {
		return nil, failAfter
	}
	e, ok := v.wabas[wabaID]
	if !ok {
		return nil, fmt.Errorf("memory vault: %s: waba %s: %w", OpWABASecret, wabaID, onboarding.ErrNotFound)
	}
	s := &onboarding.WABASecret{
		BusinessToken:  e.token,
		TokenExpiresAt: e.expiresAt,
		PINs:           make(map[string]onboarding.Secret, len(e.pins)),
	}
	for k, p := range e.pins {
		s.PINs[k] = p
	}
	return s, nil
}

// PutBusinessToken stores the business token and its expiry (zero: none), keeping the PINs. A call whose
// token and expiry are already stored writes nothing.
func (v *Vault) PutBusinessToken(ctx context.Context, wabaID string, token onboarding.Secret, expiresAt time.Time, idempotencyKey string) error {
	if err := vaultargs.First(vaultargs.WABAID(wabaID), vaultargs.BusinessToken(token), vaultargs.IdempotencyKey(idempotencyKey)); err != nil {
		return fmt.Errorf("memory vault: %s: %w", OpPutBusinessToken, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	failNow, failAfter := v.begin(ctx, OpPutBusinessToken)
	if failNow != nil {
		return failNow
	}
	// Store the expiry as a round trip through Secrets Manager's JSON would return it: UTC, no monotonic
	// reading, so that tests see the same value from both adapters.
	var exp time.Time
	if !expiresAt.IsZero() {
		exp = expiresAt.Round(0).UTC()
	}
	e := v.entry(wabaID)
	if !e.token.Equal(token) || !e.expiresAt.Equal(exp) {
		e.token, e.expiresAt = token, exp
		v.writes++
	}
	return failAfter
}

// EnsurePIN stores candidate as the phone's PIN unless one is stored already, and returns the stored PIN.
func (v *Vault) EnsurePIN(ctx context.Context, wabaID, phoneNumberID string, candidate onboarding.Secret, idempotencyKey string) (onboarding.Secret, error) {
	if err := vaultargs.First(vaultargs.WABAID(wabaID), vaultargs.PhoneNumberID(phoneNumberID), vaultargs.PIN(candidate), vaultargs.IdempotencyKey(idempotencyKey)); err != nil {
		return onboarding.Secret{}, fmt.Errorf("memory vault: %s: %w", OpEnsurePIN, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	failNow, failAfter := v.begin(ctx, OpEnsurePIN)
	if failNow != nil {
		return onboarding.Secret{}, failNow
	}
	e := v.entry(wabaID)
	pin, ok := e.pins[phoneNumberID]
	if !ok {
		pin = candidate
		e.pins[phoneNumberID] = pin
		v.writes++
	}
	if failAfter != nil {
		return onboarding.Secret{}, failAfter
	}
	return pin, nil
}

// SetPIN stores pin as the phone's PIN, replacing any stored one.
func (v *Vault) SetPIN(ctx context.Context, wabaID, phoneNumberID string, pin onboarding.Secret, idempotencyKey string) error {
	if err := vaultargs.First(vaultargs.WABAID(wabaID), vaultargs.PhoneNumberID(phoneNumberID), vaultargs.PIN(pin), vaultargs.IdempotencyKey(idempotencyKey)); err != nil {
		return fmt.Errorf("memory vault: %s: %w", OpSetPIN, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	failNow, failAfter := v.begin(ctx, OpSetPIN)
	if failNow != nil {
		return failNow
	}
	e := v.entry(wabaID)
	if cur, ok := e.pins[phoneNumberID]; !ok || !cur.Equal(pin) {
		e.pins[phoneNumberID] = pin
		v.writes++
	}
	return failAfter
}

// DeleteWABASecret forgets the WABA's token and PINs; an unknown WABA is not an error.
func (v *Vault) DeleteWABASecret(ctx context.Context, wabaID string) error {
	if err := vaultargs.WABAID(wabaID); err != nil {
		return fmt.Errorf("memory vault: %s: %w", OpDeleteWABASecret, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	failNow, failAfter := v.begin(ctx, OpDeleteWABASecret)
	if failNow != nil {
		return failNow
	}
	if _, ok := v.wabas[wabaID]; ok {
		delete(v.wabas, wabaID)
		v.writes++
	}
	return failAfter
}

// entry returns the WABA's entry, creating an empty one. v.mu must be held.
func (v *Vault) entry(wabaID string) *wabaEntry {
	e, ok := v.wabas[wabaID]
	if !ok {
		e = &wabaEntry{pins: map[string]onboarding.Secret{}}
		v.wabas[wabaID] = e
	}
	return e
}
