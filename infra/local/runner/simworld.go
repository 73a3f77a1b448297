package runner

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/waes/onboarding/shared/graphsim"
	"github.com/waes/onboarding/shared/localstate"
)

// The embedded Graph simulator's world (disk mode): one value in the state database, sealed with the
// vault's key (AES-256-GCM, a fresh nonce per write), because it holds the tokens the simulator issued and
// the PINs it registered numbers with.
var (
	bucketGraphSim = []byte("graphsim")
	keyWorld       = []byte("world")
	// worldAAD binds the sealed world to its use: it cannot pass for a vault entry, nor one for it.
	worldAAD = []byte("graphsim world v1")
)

// simWorld saves and loads the embedded simulator's world, so that resumed executions find Meta as they
// left it: the numbers registered, the tokens issued, the counters.
type simWorld struct {
	db   *bbolt.DB
	aead cipher.AEAD
	mu   sync.Mutex // orders the saves: the last world encoded is the last written
}

func openSimWorld(db *bbolt.DB, dir string) (*simWorld, error) {
	key, err := os.ReadFile(localstate.KeyPath(dir))
	if err != nil {
		return nil, fmt.Errorf("local state: reading the key for the simulator's world: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("local state: the key for the simulator's world: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketGraphSim)
		return err
	}); err != nil {
		return nil, fmt.Errorf("local state: creating the simulator's bucket: %w", err)
	}
	return &simWorld{db: db, aead: aead}, nil
}

// load restores the saved world into sim; a directory without one leaves sim's world empty.
func (w *simWorld) load(sim *graphsim.Server) error {
	var sealed []byte
	if err := w.db.View(func(tx *bbolt.Tx) error {
		sealed = append(sealed, tx.Bucket(bucketGraphSim).Get(keyWorld)...)
		return nil
	}); err != nil {
		return err
	}
	if len(sealed) == 0 {
		return nil
	}
	n := w.aead.NonceSize()
	if len(sealed) < n {
		return errors.New("local state: the simulator's world is truncated")
	}
	doc, err := w.aead.Open(nil, sealed[:n], sealed[n:], worldAAD)
	if err != nil {
		return fmt.Errorf("local state: the simulator's world cannot be decrypted with %s: %w", localstate.KeyFile, err)
	}
	return sim.LoadWorld(doc)
}

// save writes sim's world; it is called after each call that may have changed it, before the call is answered.
func (w *simWorld) save(sim *graphsim.Server) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	doc, err := sim.SaveWorld()
	if err != nil {
		return err
	}
	nonce := make([]byte, w.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := w.aead.Seal(nonce, nonce, doc, worldAAD)
	return w.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketGraphSim).Put(keyWorld, sealed) })
}
