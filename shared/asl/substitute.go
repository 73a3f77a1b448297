package asl

import (
	"fmt"
	"slices"
	"strings"
)

// Substitute replaces ${Name} placeholders (letters, digits and _ . : -) in a definition as
// CloudFormation's DefinitionSubstitutions do: plain text, not JSON-escaped. ${!Name} is a
// literal ${Name}; other "${" are left alone. The error lists every placeholder without a value.
func Substitute(def []byte, vars map[string]string) ([]byte, error) {
	s := string(def)
	var b strings.Builder
	b.Grow(len(s))
	var missing []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			b.WriteString(s[i:])
			break
		}
		name := rest[:end]
		switch {
		case strings.HasPrefix(name, "!") && isPlaceholderName(name[1:]):
			b.WriteString("${" + name[1:] + "}")
		case isPlaceholderName(name):
			v, ok := vars[name]
			if !ok && !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			b.WriteString(v)
		default:
			b.WriteString("${")
			s = rest
			continue
		}
		s = rest[end+1:]
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("asl: substitute definition: no value for ${%s}", strings.Join(missing, "}, ${"))
	}
	return []byte(b.String()), nil
}

func isPlaceholderName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !strings.ContainsRune("_.:-", r) && !('a' <= r && r <= 'z') && !('A' <= r && r <= 'Z') && !('0' <= r && r <= '9')
	})
}
