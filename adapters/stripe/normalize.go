package stripe

import (
	"errors"
	"fmt"

	"github.com/junctionhq/junction/adapters/internal/appmap"
	modelv1 "github.com/junctionhq/junction/proto/junction/model/v1"
	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// mapping maps one Stripe event type onto the canonical model: the hub
// type and a function setting the model from data.object.
type mapping struct {
	typ   string
	model func(e *junctionv1.Event, o appmap.Object)
}

// mappings are the Stripe event types with a canonical model. Every other
// type is stored under Stripe's own type name with no model.
var mappings = map[string]mapping{
	"payment_intent.succeeded":      {"payment.succeeded", paymentIntent(false)},
	"payment_intent.payment_failed": {"payment.failed", paymentIntent(true)},
	"charge.refunded":               {"payment.refunded", refundedCharge},
	"customer.created":              {"contact.created", customer},
	"customer.updated":              {"contact.updated", customer},
	"customer.deleted":              {"contact.deleted", customer},
	"checkout.session.completed":    {"order.created", checkoutSession},
}

// Types returns the Stripe event types the adapter maps onto the model,
// each with its hub type.
func Types() map[string]string {
	out := make(map[string]string, len(mappings))
	for k, m := range mappings {
		out[k] = m.typ
	}
	return out
}

// Normalize maps a Stripe event body onto a hub event: id the evt_ id,
// type the mapped type (or Stripe's own), time the event's created,
// subject data.object.id, provider version the event's api_version, data
// the body as it is, and the canonical model with a MappingError for
// every field the mapping needs that is missing or of another type. It
// fails only when the body is not a Stripe event at all.
func Normalize(body []byte) (*junctionv1.Event, error) {
	obj, err := appmap.Decode(body)
	if err != nil {
		return nil, fmt.Errorf("%w: send the Stripe event as Stripe posts it", err)
	}
	id, _ := obj["id"].(string)
	typ, _ := obj["type"].(string)
	if id == "" || typ == "" {
		return nil, errors.New(`body is not a Stripe event: want a JSON object with string "id" (evt_...) and "type" (e.g. "payment_intent.succeeded")`)
	}
	m := &appmap.Mapper{}
	root := m.Root(obj, "")
	e := &junctionv1.Event{
		Id:              id,
		Source:          Spec.App,
		Type:            typ,
		DataContentType: "application/json",
		Data:            body,
		ProviderVersion: root.String("api_version", appmap.Optional),
		Time:            root.Unix("created", appmap.Optional),
	}
	if acct := root.String("account", appmap.Optional); acct != "" {
		e.Extensions = map[string]string{"stripeaccount": acct}
	}
	mp, mapped := mappings[typ]
	need := appmap.Optional
	if mapped {
		need = appmap.Required
	}
	o := root.Object("data", need).Object("object", need)
	e.Subject = o.ID("id", appmap.Optional)
	if mapped {
		e.Type = mp.typ
		mp.model(e, o)
	}
	e.MappingErrors = m.Errors()
	return e, nil
}

// customerID reads a customer reference: an id, or an expanded customer
// object.
func customerID(o appmap.Object, key string) string {
	v, ok := o.Raw(key)
	if !ok {
		return ""
	}
	if _, isObj := v.(map[string]any); isObj {
		return o.Object(key, appmap.Optional).ID("id", appmap.Required)
	}
	return o.ID(key, appmap.Optional)
}

// attributes returns the object's metadata as "metadata.<key>".
func attributes(o appmap.Object) map[string]string {
	attrs := map[string]string{}
	o.Attributes("metadata", "metadata.", attrs)
	return attrs
}

func setIf(attrs map[string]string, k, v string) {
	if v != "" {
		attrs[k] = v
	}
}

// paymentIntent maps a PaymentIntent; failed adds its last_payment_error.
func paymentIntent(failed bool) func(e *junctionv1.Event, o appmap.Object) {
	return func(e *junctionv1.Event, o appmap.Object) {
		currency := o.String("currency", appmap.Required)
		p := &modelv1.Payment{
			Id:          o.ID("id", appmap.Required),
			Amount:      o.Minor("amount", currency, appmap.Required),
			Status:      o.String("status", appmap.Optional),
			CustomerId:  customerID(o, "customer"),
			Email:       o.String("receipt_email", appmap.Optional),
			Description: o.String("description", appmap.Optional),
			CreateTime:  o.Unix("created", appmap.Optional),
			Attributes:  attributes(o),
		}
		if types := o.Strings("payment_method_types", appmap.Optional); len(types) == 1 {
			p.PaymentMethod = types[0]
		}
		setIf(p.Attributes, "latest_charge", o.ID("latest_charge", appmap.Optional))
		if failed {
			le := o.Object("last_payment_error", appmap.Required)
			p.FailureCode = le.String("code", appmap.Optional)
			p.FailureMessage = le.String("message", appmap.Optional)
			setIf(p.Attributes, "decline_code", le.String("decline_code", appmap.Optional))
			if p.FailureCode == "" && p.FailureMessage == "" && le.Present() {
				le.Fail("code", "missing, and so is message: want at least one")
			}
		}
		e.Model = &junctionv1.Event_Payment{Payment: p}
	}
}

// refundedCharge maps a refunded Charge: the amount is what was refunded,
// the status "refunded" for a whole refund, else "partially_refunded".
func refundedCharge(e *junctionv1.Event, o appmap.Object) {
	currency := o.String("currency", appmap.Required)
	p := &modelv1.Payment{
		Id:             o.ID("id", appmap.Required),
		Amount:         o.Minor("amount_refunded", currency, appmap.Required),
		Status:         "partially_refunded",
		CustomerId:     customerID(o, "customer"),
		Email:          o.String("receipt_email", appmap.Optional),
		Description:    o.String("description", appmap.Optional),
		PaymentMethod:  o.Object("payment_method_details", appmap.Optional).String("type", appmap.Optional),
		FailureCode:    o.String("failure_code", appmap.Optional),
		FailureMessage: o.String("failure_message", appmap.Optional),
		CreateTime:     o.Unix("created", appmap.Optional),
		Attributes:     attributes(o),
	}
	if o.Bool("refunded", appmap.Required) {
		p.Status = "refunded"
	}
	if p.Email == "" {
		p.Email = o.Object("billing_details", appmap.Optional).String("email", appmap.Optional)
	}
	setIf(p.Attributes, "payment_intent", o.ID("payment_intent", appmap.Optional))
	if amt, ok := o.Int("amount", appmap.Optional); ok && currency != "" {
		setIf(p.Attributes, "amount_charged", money(appmap.MinorUnits(amt, currency)))
	}
	e.Model = &junctionv1.Event_Payment{Payment: p}
}

// money writes m as "19.99 USD" for an attribute.
func money(m *modelv1.Money) string {
	s := fmt.Sprintf("%d", m.GetUnits())
	if n := m.GetNanos(); n != 0 {
		if n < 0 {
			n = -n
			if m.GetUnits() == 0 {
				s = "-0"
			}
		}
		frac := fmt.Sprintf("%09d", n)
		for len(frac) > 0 && frac[len(frac)-1] == '0' {
			frac = frac[:len(frac)-1]
		}
		s += "." + frac
	}
	return s + " " + m.GetCurrencyCode()
}

// customer maps a Customer onto a Contact; its one name field is split at
// the first space and also kept whole as attribute "name".
func customer(e *junctionv1.Event, o appmap.Object) {
	name := o.String("name", appmap.Optional)
	first, last := appmap.SplitName(name)
	c := &modelv1.Contact{
		Id:         o.ID("id", appmap.Required),
		Email:      o.String("email", appmap.Optional),
		FirstName:  first,
		LastName:   last,
		Phone:      o.String("phone", appmap.Optional),
		CreateTime: o.Unix("created", appmap.Optional),
		Attributes: attributes(o),
	}
	setIf(c.Attributes, "name", name)
	setIf(c.Attributes, "description", o.String("description", appmap.Optional))
	e.Model = &junctionv1.Event_Contact{Contact: c}
}

// address maps a Stripe address object.
func address(o appmap.Object, name, phone string) *modelv1.Address {
	if !o.Present() {
		return nil
	}
	a := &modelv1.Address{
		Name:        name,
		City:        o.String("city", appmap.Optional),
		Region:      o.String("state", appmap.Optional),
		PostalCode:  o.String("postal_code", appmap.Optional),
		CountryCode: o.String("country", appmap.Optional),
		Phone:       phone,
	}
	for _, k := range []string{"line1", "line2"} {
		if l := o.String(k, appmap.Optional); l != "" {
			a.Lines = append(a.Lines, l)
		}
	}
	return a
}

// checkoutSession maps a completed Checkout Session in payment or
// subscription mode onto an Order; a session in setup mode takes no
// payment and keeps Stripe's type with no model.
func checkoutSession(e *junctionv1.Event, o appmap.Object) {
	mode := o.String("mode", appmap.Required)
	if mode == "setup" {
		e.Type = "checkout.session.completed"
		return
	}
	currency := o.String("currency", appmap.Required)
	cd := o.Object("customer_details", appmap.Optional)
	name := cd.String("name", appmap.Optional)
	phone := cd.String("phone", appmap.Optional)
	first, last := appmap.SplitName(name)
	email := cd.String("email", appmap.Optional)
	if email == "" {
		email = o.String("customer_email", appmap.Optional)
	}
	totals := o.Object("total_details", appmap.Optional)
	ord := &modelv1.Order{
		Id:              o.ID("id", appmap.Required),
		Email:           email,
		Subtotal:        o.Minor("amount_subtotal", currency, appmap.Required),
		Total:           o.Minor("amount_total", currency, appmap.Required),
		Tax:             totals.Minor("amount_tax", currency, appmap.Optional),
		Shipping:        totals.Minor("amount_shipping", currency, appmap.Optional),
		Discounts:       totals.Minor("amount_discount", currency, appmap.Optional),
		FinancialStatus: o.String("payment_status", appmap.Required),
		BillingAddress:  address(cd.Object("address", appmap.Optional), name, phone),
		CreateTime:      o.Unix("created", appmap.Optional),
		Attributes:      attributes(o),
	}
	if id := customerID(o, "customer"); id != "" || email != "" || name != "" {
		ord.Customer = &modelv1.Contact{Id: id, Email: email, FirstName: first, LastName: last, Phone: phone}
	}
	// Newer API versions put the shipping details under
	// collected_information, older ones at the top.
	sd := o.Object("collected_information", appmap.Optional).Object("shipping_details", appmap.Optional)
	if !sd.Present() {
		sd = o.Object("shipping_details", appmap.Optional)
	}
	ord.ShippingAddress = address(sd.Object("address", appmap.Optional), sd.String("name", appmap.Optional), "")
	// Line items come only when the session was expanded; Stripe's
	// webhook leaves them out.
	for _, li := range o.Object("line_items", appmap.Optional).Objects("data", appmap.Optional) {
		price := li.Object("price", appmap.Optional)
		qty, _ := li.Int("quantity", appmap.Optional)
		ord.LineItems = append(ord.LineItems, &modelv1.LineItem{
			Id:        li.ID("id", appmap.Required),
			Title:     li.String("description", appmap.Optional),
			Quantity:  qty,
			UnitPrice: price.Minor("unit_amount", currency, appmap.Optional),
			ProductId: price.ID("product", appmap.Optional),
			VariantId: price.ID("id", appmap.Optional),
		})
	}
	setIf(ord.Attributes, "mode", mode)
	setIf(ord.Attributes, "client_reference_id", o.String("client_reference_id", appmap.Optional))
	setIf(ord.Attributes, "payment_intent", o.ID("payment_intent", appmap.Optional))
	setIf(ord.Attributes, "subscription", o.ID("subscription", appmap.Optional))
	e.Model = &junctionv1.Event_Order{Order: ord}
}
