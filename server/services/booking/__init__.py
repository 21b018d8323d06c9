"""Booking informal consultations: policy, availability, bookings, invites and feeds (docs/BOOKING.md)."""
