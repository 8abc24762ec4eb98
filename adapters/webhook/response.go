package webhook

import "github.com/junctionhq/junction/adapters/sdk"

var _ sdk.ResponseError = (*StatusError)(nil)

// HTTPStatus implements sdk.ResponseError: the receiver's status code.
func (e *StatusError) HTTPStatus() int { return e.StatusCode }

// ResponseExcerpt implements sdk.ResponseError: the start of the
// receiver's body.
func (e *StatusError) ResponseExcerpt() string { return e.Excerpt }
