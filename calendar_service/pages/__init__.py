"""The public web pages (upcoming, year, commemoration), Vietnamese, without JavaScript."""
