package appmap

import (
	"fmt"
	"strconv"
	"strings"

	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
)

// zeroDecimal are the currencies Stripe counts in whole units
// (https://docs.stripe.com/currencies#zero-decimal).
var zeroDecimal = map[string]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true,
	"PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true,
}

// threeDecimal are the currencies Stripe counts in thousandths.
var threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}

// MinorExponent returns how many decimal places Stripe's minor unit of
// currency has: 0, 2 or 3.
func MinorExponent(currency string) int {
	c := strings.ToUpper(currency)
	switch {
	case zeroDecimal[c]:
		return 0
	case threeDecimal[c]:
		return 3
	}
	return 2
}

// MinorUnits returns amount, counted in currency's minor unit (cents for
// USD, yen for JPY, fils for KWD), as Money.
func MinorUnits(amount int64, currency string) *modelv1.Money {
	div := int64(1)
	for range MinorExponent(currency) {
		div *= 10
	}
	units, rest := amount/div, amount%div
	return &modelv1.Money{CurrencyCode: strings.ToUpper(currency), Units: units, Nanos: int32(rest * (1_000_000_000 / div))}
}

// ParseDecimal parses a decimal string such as "19.99", "-0.5" or "100"
// into Money in currency, exactly: at most 9 decimal places (trailing
// zeros beyond them are accepted) and a whole part that fits an int64.
func ParseDecimal(s, currency string) (*modelv1.Money, error) {
	bad := func(why string) error {
		return fmt.Errorf("is %q, want a decimal string such as \"19.99\" (%s)", clipValue(s), why)
	}
	neg := false
	rest := s
	if r, ok := strings.CutPrefix(rest, "-"); ok {
		neg, rest = true, r
	} else if r, ok := strings.CutPrefix(rest, "+"); ok {
		rest = r
	}
	whole, frac, hasDot := strings.Cut(rest, ".")
	if whole == "" || (hasDot && frac == "") {
		return nil, bad("digits needed on both sides of the point")
	}
	if !digits(whole) || !digits(frac) {
		return nil, bad("only digits and one point")
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 9 {
		return nil, bad("more than 9 decimal places")
	}
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return nil, bad("whole part out of range")
	}
	nanos := int64(0)
	if frac != "" {
		nanos, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if neg {
		units, nanos = -units, -nanos
	}
	return &modelv1.Money{CurrencyCode: strings.ToUpper(currency), Units: units, Nanos: int32(nanos)}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SplitName splits a full name at its first space into given and family
// name, for apps that send one name field ("Jenny Rosen" -> "Jenny",
// "Rosen"); a single word is the given name.
func SplitName(full string) (first, last string) {
	first, last, _ = strings.Cut(strings.TrimSpace(full), " ")
	return first, strings.TrimSpace(last)
}
