package logging

import "testing"

// secretKey remembers its verdicts; a remembered verdict and one computed past the cap must both be the rule's.
func TestSecretKeyVerdictsAreRemembered(t *testing.T) {
	keys := []string{"token", "Access_Token", "error_code", "Error_Code", "waba_id", "pin", "pin_source", "x_signature"}
	for _, key := range keys {
		want := namesSecret(key)
		for call := 1; call <= 2; call++ {
			if got := secretKey(key); got != want {
				t.Errorf("secretKey(%q), call %d: got %v, want %v", key, call, got, want)
			}
		}
		if _, ok := secretKeyVerdicts.Load(key); !ok {
			t.Errorf("secretKey(%q): verdict not remembered", key)
		}
	}
	t.Run("past the cap", func(t *testing.T) {
		saved := rememberedKeyCount.Load()
		rememberedKeyCount.Store(maxRememberedKeys)
		defer rememberedKeyCount.Store(saved)
		for _, key := range []string{"new_secret_holder", "new_plain_key"} {
			if got, want := secretKey(key), namesSecret(key); got != want {
				t.Errorf("secretKey(%q): got %v, want %v", key, got, want)
			}
			if _, ok := secretKeyVerdicts.Load(key); ok {
				t.Errorf("secretKey(%q): remembered past the cap", key)
			}
		}
	})
}
