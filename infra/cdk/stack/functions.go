package stack

import (
	"strings"
)

// AppName prefixes the stack, the secrets and the named resources of every stage.
const AppName = "wa-onboarding"

// The functions the stack deploys, their sizing and what each may touch are shared/catalog's: the stack
// derives each function's IAM policy and environment from its catalog needs, so a function cannot be given a
// resource name without the permission or the permission without the name. Stages may override MemoryMB
// (StageConfig.MemoryMB).

// constructID turns a function name into a construct id: "webhook_worker" -> "WebhookWorker".
func constructID(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
