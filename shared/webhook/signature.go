// Package webhook is the intake of Meta's WhatsApp webhooks: the GET verification
// handshake, the X-Hub-Signature-256 check over the raw body, the parser that normalizes a notification into a
// flat list of Events (the model the dedupe and correlation worker consumes), and the HTTP handler that ties
// them together and hands the events to a Sink. It stores nothing itself: answering 200 is the Sink's promise
// that the events are kept.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/waes/onboarding/shared/onboarding"
)

// HeaderSignature is the header carrying Meta's HMAC-SHA256 signature of the raw body.
const HeaderSignature = "X-Hub-Signature-256"

// HeaderSignatureSHA1 is Meta's legacy SHA-1 signature header. It is never accepted: the check is pinned to
// SHA-256, and a request carrying only this header is refused as unsigned.
const HeaderSignatureSHA1 = "X-Hub-Signature"

const (
	signaturePrefix = "sha256="
	signatureHexLen = sha256.Size * 2
)

// The signature failures. Verify wraps one of them with a reason that never contains the secret, the expected
// signature or the header value.
var (
	// ErrSignatureMissing: no X-Hub-Signature-256 header (a SHA-1 X-Hub-Signature alone counts as missing).
	ErrSignatureMissing = errors.New("webhook signature missing")
	// ErrSignatureMalformed: the header is not "sha256=" followed by 64 hex digits.
	ErrSignatureMalformed = errors.New("webhook signature malformed")
	// ErrSignatureMismatch: the signature does not match the body under any accepted app secret.
	ErrSignatureMismatch = errors.New("webhook signature mismatch")
	// ErrNoAppSecret: no app secret is configured, so nothing can be verified; the intake fails closed.
	ErrNoAppSecret = errors.New("no app secret configured")
)

// Verify checks header (the X-Hub-Signature-256 value) against the HMAC-SHA256 of body under each non-empty
// secret, in constant time, and returns nil when one matches. body must be the exact bytes Meta sent (after
// API Gateway's base64 decoding, before any parsing). It fails closed with ErrNoAppSecret when every secret is
// empty.
func Verify(body []byte, header string, secrets ...onboarding.Secret) error {
	if !slices.ContainsFunc(secrets, func(s onboarding.Secret) bool { return !s.IsZero() }) {
		return fmt.Errorf("verifying the webhook signature: %w", ErrNoAppSecret)
	}
	got, err := parseSignature(header)
	if err != nil {
		return err
	}
	for _, s := range secrets {
		if s.IsZero() {
			continue
		}
		mac := hmac.New(sha256.New, []byte(s.Reveal()))
		mac.Write(body)
		var sum [sha256.Size]byte
		if hmac.Equal(mac.Sum(sum[:0]), got[:]) {
			return nil
		}
	}
	return fmt.Errorf("verifying the webhook signature over %d bytes: %w", len(body), ErrSignatureMismatch)
}

// parseSignature decodes "sha256=<64 hex digits>" (either hex case). Surrounding spaces and tabs are
// tolerated, since proxies may keep them, but nothing else: inner spaces, another algorithm, a second value
// joined by a comma, or a wrong length are malformed.
func parseSignature(header string) ([sha256.Size]byte, error) {
	var sig [sha256.Size]byte
	h := strings.Trim(header, " \t")
	if h == "" {
		return sig, fmt.Errorf("reading the %s header: %w", HeaderSignature, ErrSignatureMissing)
	}
	alg, hexSig, ok := strings.Cut(h, "=")
	if !ok {
		return sig, fmt.Errorf("%s has no algorithm prefix (want sha256=): %w", HeaderSignature, ErrSignatureMalformed)
	}
	if !strings.EqualFold(alg, "sha256") {
		// Name only the well-known algorithms: the header is attacker-controlled and ends up in logs.
		name := "an unsupported algorithm"
		if strings.EqualFold(alg, "sha1") {
			name = "sha1"
		}
		return sig, fmt.Errorf("%s uses %s; only sha256 is accepted: %w", HeaderSignature, name, ErrSignatureMalformed)
	}
	if len(hexSig) != signatureHexLen {
		return sig, fmt.Errorf("%s has %d characters after sha256=, want %d hex digits: %w", HeaderSignature, len(hexSig), signatureHexLen, ErrSignatureMalformed)
	}
	if _, err := hex.Decode(sig[:], []byte(hexSig)); err != nil {
		return sig, fmt.Errorf("%s is not hexadecimal: %w", HeaderSignature, ErrSignatureMalformed)
	}
	return sig, nil
}

// Sign returns the X-Hub-Signature-256 value Meta would send for body under secret. The Graph simulator and
// tests use it to sign the webhooks they deliver.
func Sign(body []byte, secret onboarding.Secret) string {
	mac := hmac.New(sha256.New, []byte(secret.Reveal()))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// AcceptedSecrets returns the app secrets a webhook signed at now may use: the current one and, strictly
// before PreviousAppSecretUntil, the previous one (the rotation window). Empty secrets are left out, so an
// empty result means the intake must fail closed.
func AcceptedSecrets(cfg onboarding.AppConfig, now time.Time) []onboarding.Secret {
	out := make([]onboarding.Secret, 0, 2)
	if !cfg.AppSecret.IsZero() {
		out = append(out, cfg.AppSecret)
	}
	if !cfg.PreviousAppSecret.IsZero() && now.Before(cfg.PreviousAppSecretUntil) {
		out = append(out, cfg.PreviousAppSecret)
	}
	return out
}
