"""modeling/backbones"""
