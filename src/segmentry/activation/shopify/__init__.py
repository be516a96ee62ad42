"""activation/shopify"""
