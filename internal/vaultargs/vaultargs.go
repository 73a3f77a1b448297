// Package vaultargs holds what the onboarding.Vault adapters share, so that they agree: the checks of a
// call's arguments (every adapter refuses the same inputs with the same messages), the change each write
// makes (Change), and Adapter, the Vault of the adapters that keep each WABA's secret whole (memory, bolt).
// Messages never quote the rejected value: a misplaced argument may be a token or a PIN.
package vaultargs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// Operation names, as they appear in errors.
const (
	OpAppConfig        = "AppConfig"
	OpWABASecret       = "WABASecret"
	OpPutBusinessToken = "PutBusinessToken"
	OpEnsurePIN        = "EnsurePIN"
	OpSetPIN           = "SetPIN"
	OpDeleteWABASecret = "DeleteWABASecret"
)

// ErrInvalidArgument is wrapped by the checks, so that callers can tell a caller bug from a vault failure: a
// Vault method was called with a malformed argument; nothing was read or written.
var ErrInvalidArgument = errors.New("invalid argument")

type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }
func (e *argError) Unwrap() error { return ErrInvalidArgument }

// WABAID checks a WABA id: it becomes part of a secret name, so it must be a Graph id (digits only).
func WABAID(id string) error {
	if !onboarding.ValidGraphID(id) {
		return &argError{"waba id must be 1 to 20 ASCII digits"}
	}
	return nil
}

func phoneNumberID(id string) error {
	if !onboarding.ValidGraphID(id) {
		return &argError{"phone number id must be 1 to 20 ASCII digits"}
	}
	return nil
}

func pin(pin onboarding.Secret) error {
	if !onboarding.ValidPIN(pin.Reveal()) {
		return &argError{"pin must be 6 ASCII digits"}
	}
	return nil
}

// businessToken checks a business token: present, and without the surrounding whitespace a copy and paste
// leaves behind (Meta would refuse such a token later, far from the cause).
func businessToken(token onboarding.Secret) error {
	switch v := token.Reveal(); {
	case v == "":
		return &argError{"business token is empty"}
	case strings.TrimSpace(v) != v:
		return &argError{"business token has leading or trailing whitespace"}
	}
	return nil
}

// idempotencyKey checks an idempotency key. An empty key would make unrelated writes share one identity.
func idempotencyKey(key string) error {
	if key == "" {
		return &argError{"idempotency key is empty"}
	}
	return nil
}

// Change is a checked write of a WABA's secret.
type Change struct {
	// Op is the Vault method.
	Op string
	// Purpose tells writes with the same idempotency key apart (in Secrets Manager request tokens).
	Purpose string
	// Apply makes the change on s and reports whether s changed; false means the change is already there.
	Apply func(s *onboarding.WABASecret) bool
}

// PutBusinessToken checks a PutBusinessToken call and returns its change: the business token and its
// expiry (zero: none), the PINs kept. The expiry is kept as a round trip through JSON returns it (UTC, no
// monotonic reading), so that every adapter returns the same value.
func PutBusinessToken(wabaID string, token onboarding.Secret, expiresAt time.Time, key string) (Change, error) {
	if err := cmp.Or(WABAID(wabaID), businessToken(token), idempotencyKey(key)); err != nil {
		return Change{}, err
	}
	var exp time.Time
	if !expiresAt.IsZero() {
		exp = expiresAt.Round(0).UTC()
	}
	return Change{Op: OpPutBusinessToken, Purpose: "business_token", Apply: func(s *onboarding.WABASecret) bool {
		if s.BusinessToken.Equal(token) && s.TokenExpiresAt.Equal(exp) {
			return false
		}
		s.BusinessToken, s.TokenExpiresAt = token, exp
		return true
	}}, nil
}

// EnsurePIN checks an EnsurePIN call and returns its change: candidate becomes the phone's PIN unless one
// is stored already.
func EnsurePIN(wabaID, phone string, candidate onboarding.Secret, key string) (Change, error) {
	if err := cmp.Or(WABAID(wabaID), phoneNumberID(phone), pin(candidate), idempotencyKey(key)); err != nil {
		return Change{}, err
	}
	return Change{Op: OpEnsurePIN, Purpose: "pin/" + phone, Apply: func(s *onboarding.WABASecret) bool {
		if _, ok := s.PINs[phone]; ok {
			return false // any stored PIN wins over the candidate: register must reuse it
		}
		s.PINs[phone] = candidate
		return true
	}}, nil
}

// SetPIN checks a SetPIN call and returns its change: p becomes the phone's PIN, replacing any stored one.
func SetPIN(wabaID, phone string, p onboarding.Secret, key string) (Change, error) {
	if err := cmp.Or(WABAID(wabaID), phoneNumberID(phone), pin(p), idempotencyKey(key)); err != nil {
		return Change{}, err
	}
	return Change{Op: OpSetPIN, Purpose: "set-pin/" + phone, Apply: func(s *onboarding.WABASecret) bool {
		if cur, ok := s.PINs[phone]; ok && cur.Equal(p) {
			return false
		}
		s.PINs[phone] = p
		return true
	}}, nil
}

// Copy returns a copy of s that shares no map with it.
func Copy(s *onboarding.WABASecret) *onboarding.WABASecret {
	c := *s
	c.PINs = maps.Clone(s.PINs)
	return &c
}

// Store keeps each WABA's secret whole, under an Adapter, which has checked the arguments and the context.
type Store interface {
	AppConfig() (onboarding.AppConfig, error)
	// Get returns a copy of the WABA's secret, or nil when there is none.
	Get(wabaID string) (*onboarding.WABASecret, error)
	// Update applies c to the WABA's secret (an empty one when there is none) and stores the result if
	// c.Apply reports a change, in one step, so that concurrent writers never lose each other's changes. It
	// returns a copy of the secret holding the change.
	Update(wabaID string, c Change) (*onboarding.WABASecret, error)
	// Delete removes the WABA's secret; an unknown WABA is not an error.
	Delete(wabaID string) error
}

// Adapter is the onboarding.Vault over a Store. It has the semantics of the Secrets Manager adapter:
// EnsurePIN keeps the first PIN, PutBusinessToken keeps the PINs, ErrNotFound for an unknown WABA. Its
// errors start with Name and the operation.
type Adapter struct {
	Name  string
	Store Store
}

// call runs fn unless a refused argument (err) or the end of ctx stops it first, and wraps the error.
func (a Adapter) call(ctx context.Context, op string, err error, fn func() error) error {
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = fn()
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", a.Name, op, err)
	}
	return nil
}

// AppConfig returns the stage configuration.
func (a Adapter) AppConfig(ctx context.Context) (app onboarding.AppConfig, err error) {
	err = a.call(ctx, OpAppConfig, nil, func() (err error) { app, err = a.Store.AppConfig(); return err })
	return app, err
}

// WABASecret returns a copy of the WABA's secret, or an error wrapping onboarding.ErrNotFound.
func (a Adapter) WABASecret(ctx context.Context, wabaID string) (s *onboarding.WABASecret, err error) {
	err = a.call(ctx, OpWABASecret, WABAID(wabaID), func() (err error) {
		if s, err = a.Store.Get(wabaID); err == nil && s == nil {
			err = fmt.Errorf("waba %s: %w", wabaID, onboarding.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// PutBusinessToken stores the business token and its expiry (zero: none), keeping the PINs. A call whose
// token and expiry are already stored writes nothing.
func (a Adapter) PutBusinessToken(ctx context.Context, wabaID string, token onboarding.Secret, expiresAt time.Time, idempotencyKey string) error {
	c, err := PutBusinessToken(wabaID, token, expiresAt, idempotencyKey)
	_, err = a.update(ctx, OpPutBusinessToken, wabaID, c, err)
	return err
}

// EnsurePIN stores candidate as the phone's PIN unless one is stored already, and returns the stored PIN.
func (a Adapter) EnsurePIN(ctx context.Context, wabaID, phoneNumberID string, candidate onboarding.Secret, idempotencyKey string) (onboarding.Secret, error) {
	c, err := EnsurePIN(wabaID, phoneNumberID, candidate, idempotencyKey)
	s, err := a.update(ctx, OpEnsurePIN, wabaID, c, err)
	if err != nil {
		return onboarding.Secret{}, err
	}
	return s.PINs[phoneNumberID], nil
}

// SetPIN stores pin as the phone's PIN, replacing any stored one.
func (a Adapter) SetPIN(ctx context.Context, wabaID, phoneNumberID string, pin onboarding.Secret, idempotencyKey string) error {
	c, err := SetPIN(wabaID, phoneNumberID, pin, idempotencyKey)
	_, err = a.update(ctx, OpSetPIN, wabaID, c, err)
	return err
}

// update applies c, the change of op, unless its arguments were refused with err.
func (a Adapter) update(ctx context.Context, op, wabaID string, c Change, err error) (s *onboarding.WABASecret, _ error) {
	err = a.call(ctx, op, err, func() (err error) { s, err = a.Store.Update(wabaID, c); return err })
	return s, err
}

// DeleteWABASecret forgets the WABA's token and PINs; an unknown WABA is not an error.
func (a Adapter) DeleteWABASecret(ctx context.Context, wabaID string) error {
	return a.call(ctx, OpDeleteWABASecret, WABAID(wabaID), func() error { return a.Store.Delete(wabaID) })
}
