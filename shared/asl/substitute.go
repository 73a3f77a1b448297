package asl

import (
	"fmt"
	"slices"
	"strings"
)

// Substitute replaces ${Name} placeholders in a definition the way CloudFormation's (and CDK's)
// DefinitionSubstitutions do: a plain text replacement of the value, before the definition is
// parsed, so values are not JSON-escaped (an ARN or a number fits anywhere; a value containing a
// quote would break the JSON). ${!Name} is the escape for a literal ${Name}. A placeholder
// name is made of letters, digits and _ . : -; other "${" sequences are left alone. Every
// placeholder must have a value: the error lists the missing names.
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
			if !ok {
				if !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
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
		return nil, fmt.Errorf("asl: substitute definition: no value for %s", quoteList(missing))
	}
	return []byte(b.String()), nil
}

func isPlaceholderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		ok := r == '_' || r == '.' || r == ':' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "${" + n + "}"
	}
	return strings.Join(q, ", ")
}
