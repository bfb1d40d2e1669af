"""Use cases, one mixin per aggregate family, composed into :class:`domain.application.Lianxin`."""
