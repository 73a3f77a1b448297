// Package vaultargs validates the arguments of onboarding.Vault calls, so that every adapter refuses the
// same inputs with the same messages. Messages never quote the rejected value: a misplaced argument may be a
// token or a PIN.
package vaultargs

import (
	"errors"
	"strings"

	"github.com/waes/onboarding/shared/onboarding"
)

// Sentinel errors, wrapped by the checks so that callers can tell a caller bug from a vault failure.
var (
	// ErrInvalidArgument: a Vault method was called with a malformed argument; nothing was read or written.
	ErrInvalidArgument = errors.New("invalid argument")
)

func invalid(msg string) error { return &argError{msg: msg} }

type argError struct{ msg string }

func (e *argError) Error() string { return e.msg }
func (e *argError) Unwrap() error { return ErrInvalidArgument }

// WABAID checks a WABA id: it becomes part of a secret name, so it must be a Graph id (digits only).
func WABAID(id string) error {
	if !onboarding.ValidGraphID(id) {
		return invalid("waba id must be 1 to 20 ASCII digits")
	}
	return nil
}

// PhoneNumberID checks a business phone number id.
func PhoneNumberID(id string) error {
	if !onboarding.ValidGraphID(id) {
		return invalid("phone number id must be 1 to 20 ASCII digits")
	}
	return nil
}

// PIN checks a two-step verification PIN candidate.
func PIN(pin onboarding.Secret) error {
	if !onboarding.ValidPIN(pin.Reveal()) {
		return invalid("pin must be 6 ASCII digits")
	}
	return nil
}

// BusinessToken checks a business token: present, and without the surrounding whitespace a copy and paste
// leaves behind (Meta would refuse such a token later, far from the cause).
func BusinessToken(token onboarding.Secret) error {
	v := token.Reveal()
	switch {
	case v == "":
		return invalid("business token is empty")
	case strings.TrimSpace(v) != v:
		return invalid("business token has leading or trailing whitespace")
	}
	return nil
}

// IdempotencyKey checks an idempotency key. An empty key would make unrelated writes share one identity.
func IdempotencyKey(key string) error {
	if key == "" {
		return invalid("idempotency key is empty")
	}
	return nil
}

// First returns the first non-nil error.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
