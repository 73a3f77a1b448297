package bolt

import "go.etcd.io/bbolt"

// MoveEntryForTest moves the sealed entry of WABA from to the key of WABA to, as an attacker with write
// access to the file might.
func MoveEntryForTest(db *bbolt.DB, from, to string) error {
	return db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketWABAs)
		sealed := append([]byte(nil), b.Get([]byte(from))...)
		if err := b.Delete([]byte(from)); err != nil {
			return err
		}
		return b.Put([]byte(to), sealed)
	})
}
