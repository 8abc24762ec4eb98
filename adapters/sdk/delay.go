package sdk

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	junctionv1 "github.com/junctionhq/junction/proto/junction/v1"
)

// ageFrom is the time a delivery's max age counts from: when it was
// created, or when it became due for a delayed target's delivery
// (not_before), so a delay never eats into the time its attempts have.
func ageFrom(d *junctionv1.Delivery) *timestamppb.Timestamp {
	if nb := d.GetNotBefore(); nb != nil && (d.GetCreateTime() == nil || nb.AsTime().After(d.GetCreateTime().AsTime())) {
		return nb
	}
	return d.GetCreateTime()
}
