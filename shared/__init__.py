"""Fidelis domain core: money, rules, the earning/spending engine and ledger maths.

Pure code only: no Flask, no peewee, no clock, no files. Time is always a parameter.
"""
