package httpapi

import "net/http"

// ReadStringObject reads r's body as one JSON object of string fields by the API's strict rules: a
// Content-Type other than JSON is 415, a body over limit bytes 413, and unknown fields (or case variants of
// known ones), duplicate keys, values that are not strings, invalid UTF-8 and trailing data are 400 naming
// the field where one is at fault. On a refusal it writes the error answer and returns ok false. For the
// local runner's own endpoints, which take the same care as the public API.
func ReadStringObject(w http.ResponseWriter, r *http.Request, limit int64, fields []string) (map[string]string, bool) {
	body, e := readJSONBody(r, limit)
	var v map[string]string
	if e == nil {
		v, e = decodeStringObject(body, fields)
	}
	if e != nil {
		writeRequestError(w, e)
		return nil, false
	}
	return v, true
}
