package graph

import (
	"regexp"
	"strings"
)

const redactedText = "[redacted]"

var (
	// tokenLike matches Meta access tokens (they start with EAA) wherever they appear in text.
	tokenLike = regexp.MustCompile(`EAA[A-Za-z0-9]{20,}`)
	// urlQuery matches the query of a URL or path ("?name=value..."): queries carry tokens, codes and secrets.
	urlQuery = regexp.MustCompile(`\?[^\s"'<>?#]*=[^\s"'<>]*`)
	// secretParam matches name=value pairs whose name says the value is secret, outside a URL too.
	secretParam = regexp.MustCompile(`(?i)\b(access_token|input_token|client_secret|code|pin|verify_token)=[^&\s"'<>]*`)
)

// maxMessageLength caps a message taken from Meta, so a huge error text cannot flood logs.
const maxMessageLength = 1000

// sanitize removes anything that looks like or is known to be a secret from s: the exact secret values of
// the call, token-shaped strings, URL queries and secret-named parameters.
func sanitize(s string, secrets []string) string {
	if s == "" {
		return s
	}
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, redactedText)
		}
	}
	s = tokenLike.ReplaceAllString(s, redactedText)
	s = urlQuery.ReplaceAllString(s, "?"+redactedText)
	s = secretParam.ReplaceAllString(s, redactedText)
	if len(s) > maxMessageLength {
		s = strings.ToValidUTF8(s[:maxMessageLength], "") + "..."
	}
	return s
}

// sanitizeShort is sanitize for identifiers (type, fbtrace_id): they are short by nature.
func sanitizeShort(s string, secrets []string) string {
	s = sanitize(s, secrets)
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "")
	}
	return s
}
