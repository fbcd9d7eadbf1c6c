"""Sphinx configuration."""
import os
import sys

sys.path.insert(0, os.path.abspath('..'))

project = 'celery'
author = "the project's founding engineers"
copyright = '2026, ' + author
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.intersphinx', 'sphinx.ext.viewcode']
exclude_patterns = ['_build']
html_theme = 'alabaster'
master_doc = 'index'
nitpicky = False
rst_prolog = '''
.. role:: setting
.. role:: program
.. role:: sig
.. role:: signal
'''
