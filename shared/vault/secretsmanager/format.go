package secretsmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waes/onboarding/internal/vaultargs"
	"github.com/waes/onboarding/shared/onboarding"
)

// SecretFormatError reports that a secret's value is not in the expected format. It names the secret and the key at
// fault, never a value: the message goes to logs and to operators.
type SecretFormatError struct {
	// SecretID is the secret's name or ARN.
	SecretID string
	// Key is the JSON key at fault, or "" when the document as a whole is.
	Key string
	// Reason says what is wrong, without quoting the value.
	Reason string
}

func (e *SecretFormatError) Error() string {
	if e.Key != "" {
		return fmt.Sprintf("secret %q: key %q: %s", e.SecretID, e.Key, e.Reason)
	}
	return fmt.Sprintf("secret %q: %s", e.SecretID, e.Reason)
}

// member is one key of a JSON object, in document order.
type member struct {
	key    string
	raw    json.RawMessage
	offset int64
}

// plainKey matches the key names an error may quote. Anything else (digits, punctuation) might be a value
// pasted in the wrong place, such as an app secret or a token, so it is not repeated.
var plainKey = regexp.MustCompile(`^[A-Za-z_]{1,64}$`)

// shownKey returns k if an error may quote it, else "".
func shownKey(k string) string {
	if plainKey.MatchString(k) {
		return k
	}
	return ""
}

// readObject decodes data as exactly one JSON object and returns its members in order. It refuses invalid
// UTF-8 (which encoding/json would silently replace), duplicate keys (which it would silently merge) and
// trailing data. Its error reasons never quote the input: encoding/json's own syntax errors do.
func readObject(data []byte) ([]member, *SecretFormatError) {
	if !utf8.Valid(data) {
		return nil, &SecretFormatError{Reason: "is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	notJSON := func(err error) *SecretFormatError {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &SecretFormatError{Reason: fmt.Sprintf("is not valid JSON (syntax error at byte %d)", se.Offset)}
		}
		return &SecretFormatError{Reason: "is not a JSON object"}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, notJSON(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &SecretFormatError{Reason: "is not a JSON object"}
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		offset := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, notJSON(err)
		}
		key, _ := tok.(string) // inside an object, the decoder only yields string keys here
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notJSON(err)
		}
		if seen[key] {
			if k := shownKey(key); k != "" {
				return nil, &SecretFormatError{Key: k, Reason: "appears more than once"}
			}
			return nil, &SecretFormatError{Reason: fmt.Sprintf("a key (not shown) appears more than once (byte %d)", offset)}
		}
		seen[key] = true
		members = append(members, member{key: key, raw: raw, offset: offset})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notJSON(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &SecretFormatError{Reason: fmt.Sprintf("has data after the JSON object (byte %d)", dec.InputOffset())}
	}
	return members, nil
}

// jsonString decodes a JSON string value; ok is false for any other JSON type (null included: a strict
// format has one way to say "none", the empty string).
func jsonString(raw json.RawMessage) (s string, ok bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// stageKeys are the keys of the stage secret.
var stageKeys = []string{"app_id", "app_secret", "previous_app_secret", "previous_app_secret_until", "system_token",
	"system_user_id", "credit_line_id", "webhook_verify_token"}

// parseStageSecret parses the stage secret that the operator fills in. It is strict, so that a typo in a key
// name fails the first call loudly instead of silently disabling a feature (a misspelt credit_line_id would
// skip credit sharing for every customer).
func parseStageSecret(secretID, value string) (onboarding.AppConfig, error) {
	fail := func(key, reason string) error {
		return &SecretFormatError{SecretID: secretID, Key: key, Reason: reason}
	}
	members, ferr := readObject([]byte(value))
	if ferr != nil {
		ferr.SecretID = secretID
		if ferr.Key == "" && strings.HasPrefix(ferr.Reason, "is not") {
			// A secret created by the stack and not yet filled holds a generated password, not JSON.
			ferr.Reason += `; fill it with the stage configuration JSON ({"app_id": ..., "app_secret": ..., ...})`
		}
		return onboarding.AppConfig{}, ferr
	}
	vals := map[string]string{}
	for _, m := range members {
		if !slices.Contains(stageKeys, m.key) {
			if k := shownKey(m.key); k != "" {
				return onboarding.AppConfig{}, fail(k, "is not a known key (known: "+strings.Join(stageKeys, ", ")+")")
			}
			return onboarding.AppConfig{}, fail("", fmt.Sprintf("unknown key at byte %d (not shown: it is not a plain key name)", m.offset))
		}
		s, ok := jsonString(m.raw)
		if !ok {
			return onboarding.AppConfig{}, fail(m.key, `must be a JSON string (use "" for none)`)
		}
		if strings.TrimSpace(s) != s {
			return onboarding.AppConfig{}, fail(m.key, "has leading or trailing whitespace")
		}
		vals[m.key] = s
	}
	for _, k := range []string{"app_id", "app_secret"} {
		if vals[k] == "" {
			return onboarding.AppConfig{}, fail(k, "is required")
		}
	}
	for _, k := range []string{"app_id", "system_user_id", "credit_line_id"} {
		if vals[k] != "" && !onboarding.ValidGraphID(vals[k]) {
			return onboarding.AppConfig{}, fail(k, "must be a Graph id (1 to 20 ASCII digits)")
		}
	}
	if vals["credit_line_id"] != "" {
		// Credit sharing adds the system user to the WABA and attaches the line with the system token.
		for _, k := range []string{"system_user_id", "system_token"} {
			if vals[k] == "" {
				return onboarding.AppConfig{}, fail(k, "is required when credit_line_id is set")
			}
		}
	}
	cfg := onboarding.AppConfig{
		AppID:              vals["app_id"],
		AppSecret:          onboarding.NewSecret(vals["app_secret"]),
		PreviousAppSecret:  onboarding.NewSecret(vals["previous_app_secret"]),
		SystemToken:        onboarding.NewSecret(vals["system_token"]),
		SystemUserID:       vals["system_user_id"],
		CreditLineID:       vals["credit_line_id"],
		WebhookVerifyToken: onboarding.NewSecret(vals["webhook_verify_token"]),
	}
	// A previous secret is only ever accepted until a stated time, so the two come together or not at all.
	switch prev, until := vals["previous_app_secret"], vals["previous_app_secret_until"]; {
	case prev != "" && until == "":
		return onboarding.AppConfig{}, fail("previous_app_secret_until", "is required when previous_app_secret is set")
	case prev == "" && until != "":
		return onboarding.AppConfig{}, fail("previous_app_secret", "is required when previous_app_secret_until is set")
	case until != "":
		t, err := time.Parse(time.RFC3339, until)
		if err != nil {
			return onboarding.AppConfig{}, fail("previous_app_secret_until", "must be an RFC 3339 timestamp")
		}
		cfg.PreviousAppSecretUntil = t.UTC()
	}
	return cfg, nil
}

// Per-WABA secret keys.
const (
	keyBusinessToken  = "business_token"
	keyTokenExpiresAt = "token_expires_at"
	keyPINs           = "pins"
	keyUpdatedAt      = "updated_at"
)

// wabaDoc is the per-WABA secret. Secret values stay in onboarding.Secret so that an accidental %v of a
// document prints nothing sensitive.
type wabaDoc struct {
	onboarding.WABASecret
	updatedAt time.Time
	// extra holds keys this version does not know, written back unchanged: a newer deployment may have added
	// them, and a read-modify-write by an older Lambda must not drop them.
	extra map[string]json.RawMessage
	// versionID is the Secrets Manager version the document was read from (not part of the JSON).
	versionID string
}

// Format keeps the values out of fmt output. onboarding.Secret redacts itself only where fmt can call its
// methods: in an unexported field, as here, fmt prints the raw value by reflection.
func (d wabaDoc) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "wabaDoc{version %q, %d pins, values redacted}", d.versionID, len(d.PINs))
}

func newWABADoc() *wabaDoc {
	return &wabaDoc{WABASecret: onboarding.WABASecret{PINs: map[string]onboarding.Secret{}}}
}

// clone returns a deep copy, so that a cached document is never changed by a write in progress.
func (d *wabaDoc) clone() *wabaDoc {
	c := *d
	c.PINs = maps.Clone(d.PINs)
	c.extra = maps.Clone(d.extra)
	return &c
}

// secret returns the document as the domain type (a copy).
func (d *wabaDoc) secret() *onboarding.WABASecret { return vaultargs.Copy(&d.WABASecret) }

// marshal renders the document. encoding/json sorts map keys, so the same document always renders to the
// same bytes (Secrets Manager compares bytes when a version token is reused).
func (d *wabaDoc) marshal() (string, error) {
	m := make(map[string]any, 4+len(d.extra))
	for k, v := range d.extra {
		m[k] = v
	}
	pins := make(map[string]string, len(d.PINs))
	for k, v := range d.PINs {
		pins[k] = v.Reveal()
	}
	m[keyBusinessToken] = d.BusinessToken.Reveal()
	m[keyTokenExpiresAt] = formatTime(d.TokenExpiresAt)
	m[keyPINs] = pins
	m[keyUpdatedAt] = formatTime(d.updatedAt)
	b, err := json.Marshal(m)
	if err != nil {
		// Only an extra member could fail, and those were valid JSON when read.
		return "", errors.New("encode secret document: invalid preserved member")
	}
	return string(b), nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime parses an RFC 3339 timestamp; "" is the zero time.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// parseWABASecret parses a per-WABA secret. Known keys are checked strictly; unknown keys are kept.
func parseWABASecret(secretID, value string) (*wabaDoc, error) {
	fail := func(key, reason string) error {
		return &SecretFormatError{SecretID: secretID, Key: key, Reason: reason}
	}
	members, ferr := readObject([]byte(value))
	if ferr != nil {
		ferr.SecretID = secretID
		return nil, ferr
	}
	d := newWABADoc()
	for _, m := range members {
		switch m.key {
		case keyBusinessToken:
			s, ok := jsonString(m.raw)
			if !ok {
				return nil, fail(m.key, "must be a JSON string")
			}
			d.BusinessToken = onboarding.NewSecret(s)
		case keyTokenExpiresAt, keyUpdatedAt:
			s, ok := jsonString(m.raw)
			if !ok {
				return nil, fail(m.key, `must be a JSON string ("" or RFC 3339)`)
			}
			t, ok := parseTime(s)
			if !ok {
				return nil, fail(m.key, "must be an RFC 3339 timestamp or empty")
			}
			if m.key == keyTokenExpiresAt {
				d.TokenExpiresAt = t
			} else {
				d.updatedAt = t
			}
		case keyPINs:
			if string(m.raw) == "null" {
				continue
			}
			pins, ferr := readObject(m.raw)
			if ferr != nil {
				return nil, fail(m.key, "must be a JSON object of phone number id to PIN")
			}
			for _, p := range pins {
				if !onboarding.ValidGraphID(p.key) {
					return nil, fail(m.key, fmt.Sprintf("has a key at byte %d that is not a phone number id (not shown)", p.offset))
				}
				s, ok := jsonString(p.raw)
				if !ok || !onboarding.ValidPIN(s) {
					return nil, fail(keyPINs+"."+p.key, "must be a 6-digit PIN string")
				}
				d.PINs[p.key] = onboarding.NewSecret(s)
			}
		default:
			if d.extra == nil {
				d.extra = map[string]json.RawMessage{}
			}
			d.extra[m.key] = m.raw
		}
	}
	return d, nil
}
