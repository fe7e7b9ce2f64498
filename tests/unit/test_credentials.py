"""Device passwords: stored only as Mosquitto-compatible hashes."""

from __future__ import annotations

import pytest

from devices.credentials import hash_password, new_password, verify_password


class TestPasswords:
    def test_the_right_password_verifies(self) -> None:
        secret = new_password()
        assert verify_password(secret, hash_password(secret))

    def test_a_wrong_password_does_not(self) -> None:
        assert not verify_password("guess", hash_password(new_password()))

    def test_hash_is_mosquittos_pbkdf2_sha512_format_and_salted(self) -> None:
        first, second = hash_password("same"), hash_password("same")
        assert first.startswith("$7$")
        assert first != second
        assert "same" not in first

    def test_new_passwords_are_long_and_distinct(self) -> None:
        passwords = {new_password() for _ in range(100)}
        assert len(passwords) == 100
        assert all(len(password) >= 32 for password in passwords)

    @pytest.mark.parametrize(
        "encoded",
        [
            "",
            "plain",
            "$6$abc$def",
            "$7$x$AAAA$BBBB",
            "$7$0$AAAA$BBBB",
            "$7$101$!!$??",
            "$7$99999999$AAAA$BBBB",
        ],
    )
    def test_malformed_hashes_never_verify(self, encoded: str) -> None:
        assert not verify_password("anything", encoded)
