"""The adversarial suite's pieces: marked records of a sales organisation (`world`) and the table of every
whitelisted method with the way a hostile user attacks it (`attacks`). The tests are in
simple_crm/tests/test_security.py."""
