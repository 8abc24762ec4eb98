package poll

import (
	"strings"
)

// NextLink returns the target of the rel="next" link in the values of a
// Link header (RFC 8288): `<https://api.example.com/items?page=2>;
// rel="next", <...>; rel="last"`. The relation may be quoted or bare and
// may list several types ("next last"); the first next link wins. It
// returns "" when there is none or the header cannot be read.
func NextLink(values []string) string {
	for _, v := range values {
		for len(v) > 0 {
			v = strings.TrimLeft(v, " \t,")
			if !strings.HasPrefix(v, "<") {
				// Not a link-value: skip to the next comma outside quotes.
				v = skipValue(v)
				continue
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				return ""
			}
			target := v[1:end]
			if strings.IndexByte(target, '<') >= 0 {
				return "" // a URI reference holds no '<': malformed (the fuzzer found "<<>rel=next")
			}
			v = v[end+1:]
			params, rest := splitParams(v)
			v = rest
			for _, p := range params {
				name, val, ok := strings.Cut(p, "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
					continue
				}
				val = strings.Trim(strings.TrimSpace(val), `"`)
				for _, rel := range strings.Fields(val) {
					if strings.EqualFold(rel, "next") {
						return strings.TrimSpace(target)
					}
				}
			}
		}
	}
	return ""
}

// splitParams reads the ";"-separated parameters after a link target up
// to the comma that ends the link-value (commas inside quotes do not), and
// returns them and the rest.
func splitParams(v string) (params []string, rest string) {
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			quoted = !quoted
			cur.WriteByte(c)
		case c == '\\' && quoted && i+1 < len(v):
			cur.WriteByte(c)
			cur.WriteByte(v[i+1])
			i++
		case c == ';' && !quoted:
			if s := strings.TrimSpace(cur.String()); s != "" {
				params = append(params, s)
			}
			cur.Reset()
		case c == ',' && !quoted:
			if s := strings.TrimSpace(cur.String()); s != "" {
				params = append(params, s)
			}
			return params, v[i+1:]
		default:
			cur.WriteByte(c)
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		params = append(params, s)
	}
	return params, ""
}

// skipValue drops everything up to the next comma outside quotes.
func skipValue(v string) string {
	_, rest := splitParams(v)
	return rest
}
