"""The staff console: staff users, sign-in (e-mail link, passkeys, OpenID Connect), server-side
sessions, roles and their scope, the audit trail, and the console pages under ``/ansatt``.

Staff, coordinators and administrators of LINK centres and contact points do their daily work
here: the waiting list, the groups, the facilitators, their organisation. Every page renders
through the participant pages' layout and catalogues; every view of a person's record and every
action is written to the audit trail.
"""
