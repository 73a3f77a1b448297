// Package bolt is the durable onboarding.Vault of the local runner: the customer WABAs' business tokens and
// phone PINs, kept in the local state database (shared/localstate) and encrypted at rest. It has the
// semantics of the Secrets Manager adapter, checked by the same contract (shared/vault/vaulttest): EnsurePIN
// keeps the first PIN, PutBusinessToken keeps the PINs, a write whose change is already stored writes
// nothing, ErrNotFound for an unknown WABA.
//
// # Encryption
//
// Each WABA's secret is one JSON document sealed with AES-256-GCM: a fresh random 96-bit nonce per write,
// the WABA id as additional data (so an entry copied under another WABA's key fails to open), stored as
// version byte 1 || nonce || ciphertext+tag. The key is 32 random bytes in the key file beside the database
// (localstate.KeyFile, mode 0600), created on first run. A key-check value, a known text sealed with the key,
// lets Open tell a wrong key from a damaged entry. Open refuses to start when the key file is missing but
// the database holds encrypted entries, or when the key does not open them: the secrets cannot be read
// without it, and silently starting over would leave onboardings whose tokens are lost.
//
// This protects the secrets in a copied or backed-up database file, not from someone who can read the
// directory (the key is next to the data): local development only, never production (Secrets Manager is).
//
// # Buckets
//
//	bucket        key         value
//	vault_wabas   <waba_id>   sealed {"business_token","token_expires_at","pins":{<phone_number_id>: <pin>}}
//	vault_meta    key_check   sealed constant (additional data "key_check")
//
// The stage configuration (AppConfig) is not stored: the local runner builds it from the environment on
// every start, as it does in memory mode.
package bolt

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/internal/vaultargs"
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

var (
	bucketWABAs = []byte("vault_wabas")
	bucketMeta  = []byte("vault_meta")
	keyCheckKey = []byte("key_check")
	// keyCheckText is what the key-check value seals; it is no secret.
	keyCheckText = []byte("waes local vault key check v1")
)

const (
	// KeySize is the AES-256 key length in bytes.
	KeySize = 32
	// formatV1 is the first byte of a sealed value.
	formatV1 = 1
)

// ErrKeyMissing: the key file is gone but the database holds secrets encrypted with it.
var ErrKeyMissing = errors.New("vault key missing")

// ErrKeyMismatch: the key file does not open the database's secrets (another key, or a damaged file).
var ErrKeyMismatch = errors.New("vault key does not match the stored secrets")

// KeyError says which files are at odds and what to do; it wraps ErrKeyMissing or ErrKeyMismatch.
type KeyError struct {
	KeyPath string
	Err     error
}

func (e *KeyError) Error() string {
	what := "the vault key " + e.KeyPath + " does not decrypt the secrets stored beside it"
	if errors.Is(e.Err, ErrKeyMissing) {
		what = "the vault key " + e.KeyPath + " is missing, but the local state beside it holds secrets encrypted with it"
	}
	return "local vault: " + what + ": restore the key file (the one created beside the database on its first run), or reset the local state with `make reset-local` (it deletes every local onboarding and secret)"
}

// Unwrap returns ErrKeyMissing or ErrKeyMismatch.
func (e *KeyError) Unwrap() error { return e.Err }

// Vault is the bbolt onboarding.Vault, safe for concurrent use.
type Vault struct {
	db     *bbolt.DB
	aead   cipher.AEAD
	mu     sync.Mutex
	app    onboarding.AppConfig
	writes atomic.Int64
}

var _ onboarding.Vault = (*Vault)(nil)

// Format keeps the secrets (and the key) out of fmt output.
func (v *Vault) Format(f fmt.State, _ rune) { fmt.Fprint(f, "bolt.Vault{values redacted}") }

// Open returns the vault on db with the key in keyPath, creating the key (and its buckets) on first run.
// app is the stage configuration AppConfig returns. It fails with *KeyError when the key is missing but
// encrypted entries exist, or when the key does not open them. The caller owns db and closes it.
func Open(db *bbolt.DB, keyPath string, app onboarding.AppConfig) (*Vault, error) {
	var hasData, hasBuckets bool
	if err := db.View(func(tx *bbolt.Tx) error {
		wabas, meta := tx.Bucket(bucketWABAs), tx.Bucket(bucketMeta)
		hasBuckets = wabas != nil && meta != nil
		if wabas != nil {
			k, _ := wabas.Cursor().First()
			hasData = k != nil
		}
		hasData = hasData || meta != nil && meta.Get(keyCheckKey) != nil
		return nil
	}); err != nil {
		return nil, fmt.Errorf("local vault: reading: %w", err)
	}
	key, err := os.ReadFile(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist) && hasData:
		return nil, &KeyError{KeyPath: keyPath, Err: ErrKeyMissing}
	case errors.Is(err, fs.ErrNotExist):
		if key, err = createKey(keyPath); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("local vault: reading the key file %s: %w", keyPath, err)
	case len(key) != KeySize:
		return nil, &KeyError{KeyPath: keyPath, Err: fmt.Errorf("%w: the key file holds %d bytes, not %d", ErrKeyMismatch, len(key), KeySize)}
	}
	if !hasBuckets {
		if err := db.Update(func(tx *bbolt.Tx) error {
			for _, b := range [][]byte{bucketWABAs, bucketMeta} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("local vault: creating buckets: %w", err)
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("local vault: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("local vault: %w", err)
	}
	v := &Vault{db: db, aead: aead, app: app}
	if err := v.checkKey(keyPath); err != nil {
		return nil, err
	}
	return v, nil
}

// createKey writes a new random key to path (mode 0600) and returns it. The key is written to a temporary
// file, synced, then linked into place, so a crash never leaves a partial key at path, and two starts that
// race cannot both win.
func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("local vault: generating a key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("local vault: creating the key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("local vault: creating the key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("local vault: writing the key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("local vault: writing the key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("local vault: writing the key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("local vault: installing the key file %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the new directory entry survives a crash
		d.Close()
	}
	return key, nil
}

// checkKey proves the key opens the stored secrets (the key-check value, or else the first entry, for a
// database written before it had one), and writes the key-check value when there is none.
func (v *Vault) checkKey(keyPath string) error {
	// The usual start: a key-check value to verify, read-only (no commit, no fsync).
	checked := false
	if err := v.db.View(func(tx *bbolt.Tx) error {
		sealed := tx.Bucket(bucketMeta).Get(keyCheckKey)
		if sealed == nil {
			return nil
		}
		checked = true
		if _, err := v.open(sealed, keyCheckKey); err != nil {
			return &KeyError{KeyPath: keyPath, Err: ErrKeyMismatch}
		}
		return nil
	}); err != nil || checked {
		return err
	}
	return v.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if sealed := meta.Get(keyCheckKey); sealed != nil {
			if _, err := v.open(sealed, keyCheckKey); err != nil {
				return &KeyError{KeyPath: keyPath, Err: ErrKeyMismatch}
			}
			return nil
		}
		if k, sealed := tx.Bucket(bucketWABAs).Cursor().First(); k != nil {
			if _, err := v.open(sealed, k); err != nil {
				return &KeyError{KeyPath: keyPath, Err: ErrKeyMismatch}
			}
		}
		sealed, err := v.seal(keyCheckText, keyCheckKey)
		if err != nil {
			return err
		}
		return meta.Put(keyCheckKey, sealed)
	})
}

func (v *Vault) seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, v.aead.NonceSize(), 1+v.aead.NonceSize()+len(plaintext)+v.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generating a nonce: %w", err)
	}
	out := append([]byte{formatV1}, nonce...)
	return v.aead.Seal(out, nonce, plaintext, ad), nil
}

func (v *Vault) open(sealed, ad []byte) ([]byte, error) {
	n := v.aead.NonceSize()
	if len(sealed) < 1+n+v.aead.Overhead() || sealed[0] != formatV1 {
		return nil, errors.New("sealed value has an unknown format")
	}
	plain, err := v.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		// The GCM error says nothing about the content; keep it that way.
		return nil, errors.New("sealed value does not open with this key")
	}
	return plain, nil
}

// entryDoc is the plaintext of a WABA's secret.
type entryDoc struct {
	BusinessToken  string            `json:"business_token,omitempty"`
	TokenExpiresAt *time.Time        `json:"token_expires_at,omitempty"`
	PINs           map[string]string `json:"pins,omitempty"`
}

type entry struct {
	token     onboarding.Secret
	expiresAt time.Time
	pins      map[string]onboarding.Secret
}

// get reads and decrypts the WABA's entry; ok is false when there is none.
func (v *Vault) get(tx *bbolt.Tx, wabaID string) (e entry, ok bool, err error) {
	sealed := tx.Bucket(bucketWABAs).Get([]byte(wabaID))
	if sealed == nil {
		return entry{pins: map[string]onboarding.Secret{}}, false, nil
	}
	plain, err := v.open(sealed, []byte(wabaID))
	if err != nil {
		return entry{}, false, fmt.Errorf("waba %s: %w", wabaID, err)
	}
	var doc entryDoc
	if err := json.Unmarshal(plain, &doc); err != nil {
		// json's error could quote the plaintext; say only that it is malformed.
		return entry{}, false, fmt.Errorf("waba %s: the decrypted entry is not valid JSON", wabaID)
	}
	e = entry{token: onboarding.NewSecret(doc.BusinessToken), pins: make(map[string]onboarding.Secret, len(doc.PINs))}
	if doc.TokenExpiresAt != nil {
		e.expiresAt = doc.TokenExpiresAt.UTC()
	}
	for phone, pin := range doc.PINs {
		e.pins[phone] = onboarding.NewSecret(pin)
	}
	return e, true, nil
}

// put encrypts and stores the WABA's entry, counting the write.
func (v *Vault) put(tx *bbolt.Tx, wabaID string, e entry) error {
	doc := entryDoc{BusinessToken: e.token.Reveal(), PINs: make(map[string]string, len(e.pins))}
	if !e.expiresAt.IsZero() {
		t := e.expiresAt
		doc.TokenExpiresAt = &t
	}
	for phone, pin := range e.pins {
		doc.PINs[phone] = pin.Reveal()
	}
	plain, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("waba %s: encoding the entry: %w", wabaID, err)
	}
	sealed, err := v.seal(plain, []byte(wabaID))
	clear(plain)
	if err != nil {
		return fmt.Errorf("waba %s: %w", wabaID, err)
	}
	if err := tx.Bucket(bucketWABAs).Put([]byte(wabaID), sealed); err != nil {
		return err
	}
	tx.OnCommit(func() { v.writes.Add(1) })
	return nil
}

// Writes returns the number of state-changing writes since Open. A repeated write whose change is already
// stored does not count.
func (v *Vault) Writes() int { return int(v.writes.Load()) }

// AppConfig returns the stage configuration given to Open.
func (v *Vault) AppConfig(ctx context.Context) (onboarding.AppConfig, error) {
	if err := ctx.Err(); err != nil {
		return onboarding.AppConfig{}, fmt.Errorf("local vault: %s: %w", OpAppConfig, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.app, nil
}

// WABASecret returns the WABA's secret, or an error wrapping onboarding.ErrNotFound.
func (v *Vault) WABASecret(ctx context.Context, wabaID string) (*onboarding.WABASecret, error) {
	if err := vaultargs.WABAID(wabaID); err != nil {
		return nil, fmt.Errorf("local vault: %s: %w", OpWABASecret, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("local vault: %s: %w", OpWABASecret, err)
	}
	var (
		e  entry
		ok bool
	)
	err := v.db.View(func(tx *bbolt.Tx) error {
		var err error
		e, ok, err = v.get(tx, wabaID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("local vault: %s: %w", OpWABASecret, err)
	}
	if !ok {
		return nil, fmt.Errorf("local vault: %s: waba %s: %w", OpWABASecret, wabaID, onboarding.ErrNotFound)
	}
	return &onboarding.WABASecret{BusinessToken: e.token, TokenExpiresAt: e.expiresAt, PINs: e.pins}, nil
}

// PutBusinessToken stores the business token and its expiry (zero: none), keeping the PINs. A call whose
// token and expiry are already stored writes nothing.
func (v *Vault) PutBusinessToken(ctx context.Context, wabaID string, token onboarding.Secret, expiresAt time.Time, idempotencyKey string) error {
	if err := vaultargs.First(vaultargs.WABAID(wabaID), vaultargs.BusinessToken(token), vaultargs.IdempotencyKey(idempotencyKey)); err != nil {
		return fmt.Errorf("local vault: %s: %w", OpPutBusinessToken, err)
	}
	var exp time.Time
	if !expiresAt.IsZero() {
		exp = expiresAt.Round(0).UTC()
	}
	return v.update(ctx, OpPutBusinessToken, wabaID, func(e *entry) bool {
		if e.token.Equal(token) && e.expiresAt.Equal(exp) {
			return false
		}
		e.token, e.expiresAt = token, exp
		return true
	})
}

// EnsurePIN stores candidate as the phone's PIN unless one is stored already, and returns the stored PIN.
func (v *Vault) EnsurePIN(ctx context.Context, wabaID, phoneNumberID string, candidate onboarding.Secret, idempotencyKey string) (onboarding.Secret, error) {
	if err := vaultargs.First(vaultargs.WABAID(wabaID), vaultargs.PhoneNumberID(phoneNumberID), vaultargs.PIN(candidate), vaultargs.IdempotencyKey(idempotencyKey)); err != nil {
		return onboarding.Secret{}, fmt.Errorf("local vault: %s: %w", OpEnsurePIN, err)
	}
	var stored onboarding.Secret
	err := v.update(ctx, OpEnsurePIN, wabaID, func(e *entry) bool {
		if pin, ok := e.pins[phoneNumberID]; ok {
			stored = pin
			return false
		}
		e.pins[phoneNumberID] = candidate
		stored = candidate
		return true
	})
	if err != nil {
		return onboarding.Secret{}, err
	}
	return stored, nil
}

// SetPIN stores pin as the phone's PIN, replacing any stored one.
func (v *Vault) SetPIN(ctx context.Context, wabaID, phoneNumberID string, pin onboarding.Secret, idempotencyKey string) error {
	if err := vaultargs.First(vaultargs.WABAID(wabaID), vaultargs.PhoneNumberID(phoneNumberID), vaultargs.PIN(pin), vaultargs.IdempotencyKey(idempotencyKey)); err != nil {
		return fmt.Errorf("local vault: %s: %w", OpSetPIN, err)
	}
	return v.update(ctx, OpSetPIN, wabaID, func(e *entry) bool {
		if cur, ok := e.pins[phoneNumberID]; ok && cur.Equal(pin) {
			return false
		}
		e.pins[phoneNumberID] = pin
		return true
	})
}

// DeleteWABASecret removes the WABA's entry (token and PINs); an unknown WABA is not an error.
func (v *Vault) DeleteWABASecret(ctx context.Context, wabaID string) error {
	if err := vaultargs.WABAID(wabaID); err != nil {
		return fmt.Errorf("local vault: %s: %w", OpDeleteWABASecret, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local vault: %s: %w", OpDeleteWABASecret, err)
	}
	err := v.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWABAs)
		if b.Get([]byte(wabaID)) == nil {
			return nil
		}
		if err := b.Delete([]byte(wabaID)); err != nil {
			return err
		}
		tx.OnCommit(func() { v.writes.Add(1) })
		return nil
	})
	if err != nil {
		return fmt.Errorf("local vault: %s: %w", OpDeleteWABASecret, err)
	}
	return nil
}

// update reads the WABA's entry, applies change and writes the entry back if change reports a change, all
// in one transaction, so concurrent writers of one WABA never lose each other's changes.
func (v *Vault) update(ctx context.Context, op, wabaID string, change func(*entry) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local vault: %s: %w", op, err)
	}
	err := v.db.Update(func(tx *bbolt.Tx) error {
		e, _, err := v.get(tx, wabaID)
		if err != nil {
			return err
		}
		if !change(&e) {
			return nil
		}
		return v.put(tx, wabaID, e)
	})
	if err != nil {
		return fmt.Errorf("local vault: %s: %w", op, err)
	}
	return nil
}
