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
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/internal/vaultargs"
	"github.com/waes/onboarding/shared/onboarding"
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
	vaultargs.Adapter
	s *store
}

// store is the vaultargs.Store of a Vault.
type store struct {
	db     *bbolt.DB
	aead   cipher.AEAD
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
	// Neither fails: the key has KeySize bytes, and GCM takes any AES block.
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	s := &store{db: db, aead: aead, app: app}
	if err := s.checkKey(keyPath); err != nil {
		return nil, err
	}
	return &Vault{Adapter: vaultargs.Adapter{Name: "local vault", Store: s}, s: s}, nil
}

// createKey writes a new random key to path (mode 0600) and returns it. The key is written to a temporary
// file (which os.CreateTemp makes with mode 0600), synced, then linked into place, so a crash never leaves a
// partial key at path, and two starts that race cannot both win.
func createKey(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("local vault: creating the key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
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
func (s *store) checkKey(keyPath string) error {
	mismatch := &KeyError{KeyPath: keyPath, Err: ErrKeyMismatch}
	// verify opens sealed under ad; no value at all proves nothing (ok is false).
	verify := func(sealed, ad []byte) (ok bool, err error) {
		if sealed == nil {
			return false, nil
		}
		if _, err := s.open(sealed, ad); err != nil {
			return true, mismatch
		}
		return true, nil
	}
	// The usual start: a key-check value to verify, read-only (no commit, no fsync).
	checked := false
	if err := s.db.View(func(tx *bbolt.Tx) (err error) {
		checked, err = verify(tx.Bucket(bucketMeta).Get(keyCheckKey), keyCheckKey)
		return err
	}); err != nil || checked {
		return err
	}
	return s.db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if ok, err := verify(meta.Get(keyCheckKey), keyCheckKey); ok || err != nil { // a concurrent start wrote it
			return err
		}
		k, sealed := tx.Bucket(bucketWABAs).Cursor().First()
		if _, err := verify(sealed, k); err != nil {
			return err
		}
		return meta.Put(keyCheckKey, s.seal(keyCheckText, keyCheckKey))
	})
}

func (s *store) seal(plaintext, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(append(out, formatV1), nonce...)
	return s.aead.Seal(out, nonce, plaintext, ad)
}

func (s *store) open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != formatV1 {
		return nil, errors.New("sealed value has an unknown format")
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
	if err != nil {
		// The GCM error says nothing about the content; keep it that way.
		return nil, errors.New("sealed value does not open with this key")
	}
	return plain, nil
}

// entryDoc is the plaintext of a WABA's secret.
type entryDoc struct {
	BusinessToken  string            `json:"business_token,omitempty"`
	TokenExpiresAt time.Time         `json:"token_expires_at,omitzero"`
	PINs           map[string]string `json:"pins,omitempty"`
}

// get reads and decrypts the WABA's entry; nil when there is none.
func (s *store) get(tx *bbolt.Tx, wabaID string) (*onboarding.WABASecret, error) {
	sealed := tx.Bucket(bucketWABAs).Get([]byte(wabaID))
	if sealed == nil {
		return nil, nil
	}
	plain, err := s.open(sealed, []byte(wabaID))
	if err != nil {
		return nil, fmt.Errorf("waba %s: %w", wabaID, err)
	}
	var doc entryDoc
	if err := json.Unmarshal(plain, &doc); err != nil {
		// json's error could quote the plaintext; say only that it is malformed.
		return nil, fmt.Errorf("waba %s: the decrypted entry is not valid JSON", wabaID)
	}
	sec := &onboarding.WABASecret{BusinessToken: onboarding.NewSecret(doc.BusinessToken), TokenExpiresAt: doc.TokenExpiresAt.UTC(),
		PINs: make(map[string]onboarding.Secret, len(doc.PINs))}
	for phone, pin := range doc.PINs {
		sec.PINs[phone] = onboarding.NewSecret(pin)
	}
	return sec, nil
}

// put encrypts and stores the WABA's entry, counting the write.
func (s *store) put(tx *bbolt.Tx, wabaID string, sec *onboarding.WABASecret) error {
	doc := entryDoc{BusinessToken: sec.BusinessToken.Reveal(), TokenExpiresAt: sec.TokenExpiresAt, PINs: make(map[string]string, len(sec.PINs))}
	for phone, pin := range sec.PINs {
		doc.PINs[phone] = pin.Reveal()
	}
	plain, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("waba %s: encoding the entry: %w", wabaID, err)
	}
	sealed := s.seal(plain, []byte(wabaID))
	clear(plain)
	tx.OnCommit(func() { s.writes.Add(1) })
	return tx.Bucket(bucketWABAs).Put([]byte(wabaID), sealed)
}

// Writes returns the number of state-changing writes since Open. A repeated write whose change is already
// stored does not count.
func (v *Vault) Writes() int { return int(v.s.writes.Load()) }

func (s *store) AppConfig() (onboarding.AppConfig, error) { return s.app, nil }

func (s *store) Get(wabaID string) (sec *onboarding.WABASecret, err error) {
	err = s.db.View(func(tx *bbolt.Tx) (err error) {
		sec, err = s.get(tx, wabaID)
		return err
	})
	return sec, err
}

func (s *store) Update(wabaID string, c vaultargs.Change) (*onboarding.WABASecret, error) {
	var sec *onboarding.WABASecret
	err := s.db.Update(func(tx *bbolt.Tx) (err error) {
		if sec, err = s.get(tx, wabaID); err != nil {
			return err
		}
		if sec == nil {
			sec = &onboarding.WABASecret{PINs: map[string]onboarding.Secret{}}
		}
		if !c.Apply(sec) {
			return nil
		}
		return s.put(tx, wabaID, sec)
	})
	if err != nil {
		return nil, err
	}
	return sec, nil
}

func (s *store) Delete(wabaID string) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWABAs)
		if b.Get([]byte(wabaID)) == nil {
			return nil
		}
		tx.OnCommit(func() { s.writes.Add(1) })
		return b.Delete([]byte(wabaID))
	})
}
