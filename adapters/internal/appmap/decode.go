package appmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DecodeValue decodes one JSON value of any kind (HubSpot sends an
// array), keeping numbers as json.Number so that large ids and amounts
// keep every digit. Data after the value is an error.
func DecodeValue(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("data after the JSON value at offset %d", d.InputOffset())
	}
	return v, nil
}

// Decode parses body, which must be one JSON object, keeping numbers as
// json.Number. Its errors say what to send instead.
func Decode(body []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("body holds more than one JSON value: send one JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("body is %s, want a JSON object", Kind(v))
	}
	return obj, nil
}

// Kind names a decoded JSON value's type for messages: "a string", "a
// number", "an object", "an array", "a boolean", "null".
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}

// IDString returns v as an id: a non-empty string as is, a whole number
// (however large: Shopify's and HubSpot's ids pass 2^53) in decimal,
// exactly as sent.
func IDString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		if wholeNumber(x) {
			return string(x), true
		}
	}
	return "", false
}

// wholeNumber reports whether n is an integer that fits an int64 or a
// uint64.
func wholeNumber(n json.Number) bool {
	if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return true
	}
	_, err := strconv.ParseUint(string(n), 10, 64)
	return err == nil
}
