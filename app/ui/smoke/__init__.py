"""`stepdesk --smoke-test`: checks that a build has every piece it needs."""
