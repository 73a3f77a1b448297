package asl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var placeholderRE = regexp.MustCompile(`\$\{(!?)([A-Za-z0-9_.:-]+)\}`)

// Substitute replaces ${Name} placeholders (letters, digits and _ . : -) in a definition as
// CloudFormation's DefinitionSubstitutions do: plain text, not JSON-escaped. ${!Name} is a
// literal ${Name}; other "${" are left alone. The error lists every placeholder without a value.
func Substitute(def []byte, vars map[string]string) ([]byte, error) {
	var missing []string
	out := placeholderRE.ReplaceAllStringFunc(string(def), func(m string) string {
		sub := placeholderRE.FindStringSubmatch(m)
		if sub[1] == "!" {
			return "${" + sub[2] + "}"
		}
		v, ok := vars[sub[2]]
		if !ok && !slices.Contains(missing, sub[2]) {
			missing = append(missing, sub[2])
		}
		return v
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("asl: substitute definition: no value for ${%s}", strings.Join(missing, "}, ${"))
	}
	return []byte(out), nil
}
